"""The events a counted row replaced: the other versions of the same thing (corrections,
earlier registrations) and the retracted ones, with the retractions that took them out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.reporting.facts import FACTS, KEYED

# fact table -> the columns naming one thing in it (a business key or an entity)
THINGS: dict[str, tuple[str, str | None]] = {
    **KEYED,
    "agency_facts": ("subject_agency", None),
    "pairing_facts": ("pairing_id", None),
    "worker_facts": ("worker_agency", "worker_id"),
    "client_facts": ("agency_id", "client_id"),
}
TYPES = {fact.table: event_type for event_type, fact in FACTS.items()}


async def replaced(
    conn: asyncpg.Connection, rows: list[dict[str, Any]], as_of: datetime | None = None
) -> None:
    """Fill each row's `replaces` with the other events of the thing it counts (those
    intake had recorded by `as_of`, with the retractions recorded by then)."""
    for row in rows:
        row["replaces"] = []
    for table, (first, second) in THINGS.items():
        mine = [(i, r) for i, r in enumerate(rows) if r["history"] == table]
        if not mine:
            continue
        same = f"f.{second} = k.b" if second else "true"
        found = await conn.fetch(
            f"SELECT k.i, f.agency_id, f.event_id, f.occurred_at, f.recorded_at,"
            f" ARRAY(SELECT r.event_id FROM retractions r WHERE r.agency_id = f.agency_id"
            f"       AND r.target_event_id = f.event_id"
            f"       AND ($6::timestamptz IS NULL OR r.recorded_at <= $6::timestamptz)"
            f"       ORDER BY r.event_id) AS retracted_by"
            f" FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[])"
            f"   AS k(i, a, b, ea, ee)"
            f" JOIN {table} f ON f.{first} = k.a AND {same}"
            f"   AND NOT (f.agency_id = k.ea AND f.event_id = k.ee)"
            f"   AND ($6::timestamptz IS NULL OR f.recorded_at <= $6::timestamptz)"
            f" ORDER BY k.i, f.occurred_at, f.recorded_at, f.agency_id, f.event_id",
            [i for i, _ in mine],
            [r["ka"] for _, r in mine],
            [r["kb"] for _, r in mine],
            [r["agency_id"] for _, r in mine],
            [r["event_id"] for _, r in mine],
            as_of,
        )
        for f in found:
            rows[f["i"]]["replaces"].append(
                {
                    "event_id": f["event_id"],
                    "agency_id": f["agency_id"],
                    "type": TYPES[table],
                    "occurred_at": f["occurred_at"],
                    "recorded_at": f["recorded_at"],
                    "how": "retracted" if f["retracted_by"] else "superseded",
                    "retracted_by": list(f["retracted_by"]),
                }
            )
