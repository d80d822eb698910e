"""The events that arrived after an approval: of its scope and period, recorded by intake
after the approval's watermark (the newest recording time its figures reflect). They are
accepted and counted like any other (never blocked); this says which they are.

Each fact table names the agency a row counts for and the dates that put it in a period,
as the summary counts it: a flow (visit, activity, training, dispatch, milestone, slot)
inside the period, a stock (agency, worker, certification, client, project, pairing) by
its end."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from services.reporting.facts import FACTS
from services.reporting.placement import Scope, place

_TYPE = {fact.table: f"'{t}'" for t, fact in FACTS.items()}
_TYPE["slot_facts"] = "CASE kind WHEN 'scheduled' THEN 'visit-scheduled' ELSE 'visit-overdue' END"

# table -> (its rows' agency in the scope, its rows in the period); $1 the scope's
# agencies, $2 and $3 the period, $5 the pairing of a pairing scope.
IN_SCOPE: dict[str, tuple[str, str]] = {
    "agency_facts": ("subject_agency = ANY($1)", "registered_on <= $3"),
    "pairing_facts": (
        "(assisting_agency_id = ANY($1) OR assisted_agency_id = ANY($1))"
        " AND ($5::text IS NULL OR pairing_id = $5)",
        "starts_on <= $3 AND (ends_on IS NULL OR ends_on >= $2)",
    ),
    "worker_facts": ("worker_agency = ANY($1)", "registered_on <= $3"),
    "certification_facts": ("agency_id = ANY($1)", "obtained_on <= $3"),
    "revocation_facts": ("agency_id = ANY($1)", "revoked_on <= $3"),
    "project_facts": ("project_agency = ANY($1)", "starts_on <= $3"),
    "client_facts": ("agency_id = ANY($1)", "registered_on <= $3"),
    "visit_facts": ("agency_id = ANY($1)", "visited_on BETWEEN $2 AND $3"),
    "activity_facts": ("agency_id = ANY($1)", "held_on BETWEEN $2 AND $3"),
    "training_facts": (
        "($5::text IS NULL AND agency_id = ANY($1) OR pairing_id = $5)",
        "held_on BETWEEN $2 AND $3",
    ),
    "dispatch_facts": (
        "($5::text IS NULL AND agency_id = ANY($1) OR pairing_id = $5)",
        "from_date <= $3 AND to_date >= $2",
    ),
    "milestone_facts": (
        "($5::text IS NULL AND agency_id = ANY($1) OR pairing_id = $5)",
        "reached_on BETWEEN $2 AND $3",
    ),
    "slot_facts": ("client_agency = ANY($1)", "slot_on BETWEEN $2 AND $3"),
}

# Every fact of the scope and period, whenever recorded; then those recorded after the
# watermark ($4), and the retractions recorded after it of any of them (a retraction of an
# event counted at approval changes the figures as much as a new event).
_SCOPED = " UNION ALL ".join(
    f"SELECT agency_id, event_id, {_TYPE[table]} AS type, occurred_at, recorded_at, retracted"
    f" FROM {table} WHERE {agency} AND {period}"
    for table, (agency, period) in sorted(IN_SCOPE.items())
)
_LATE = f"""
WITH p AS (SELECT $1::text[], $2::date, $3::date, $4::timestamptz, $5::text, $6::timestamptz),
scoped AS NOT MATERIALIZED ({_SCOPED})
SELECT agency_id, event_id, type, occurred_at, recorded_at, retracted, NULL AS retracts
FROM scoped WHERE ($4::timestamptz IS NULL OR recorded_at > $4)
  AND ($6::timestamptz IS NULL OR recorded_at <= $6)
UNION ALL
SELECT r.agency_id, r.event_id, 'event-retracted', NULL, r.recorded_at, false, r.target_event_id
FROM retractions r JOIN scoped s ON s.agency_id = r.agency_id AND s.event_id = r.target_event_id
WHERE ($4::timestamptz IS NULL OR r.recorded_at > $4)
  AND ($6::timestamptz IS NULL OR r.recorded_at <= $6)
"""


async def late_events(
    conn: asyncpg.Connection, approval: dict[str, Any], limit: int | None = None
) -> list[dict[str, Any]]:
    """The approval's scope and period's events recorded after its watermark, oldest first."""
    rows = await conn.fetch(
        f"SELECT * FROM ({_LATE}) x ORDER BY recorded_at, agency_id, event_id"
        + (f" LIMIT {int(limit)}" if limit is not None else ""),
        *await _arguments(conn, approval),
        None,
    )
    return [_event(r) for r in rows]


async def late_count(
    conn: asyncpg.Connection, approval: dict[str, Any], until: datetime | None = None
) -> int:
    """How many; `until`: only those intake had recorded by then (a summary's as_of)."""
    count = await conn.fetchval(
        f"SELECT count(*) FROM ({_LATE}) x", *await _arguments(conn, approval), until
    )
    return int(count)


async def _arguments(conn: asyncpg.Connection, approval: dict[str, Any]) -> tuple[Any, ...]:
    start: date = approval["from_on"]
    end: date = approval["to_on"]
    scope = Scope(region=approval["region"], pairing=approval["pairing"], start=start, end=end)
    placed = await place(conn, scope)
    # Every agency in the scope on some day of the period (placement.py), whatever it did.
    agencies = sorted(
        {*(placed.stock or ()), *(placed.whole or ()), *(a for a, _, _ in placed.partial)}
    )
    watermark: datetime | None = approval["watermark"]
    return agencies, start, end, watermark, approval["pairing"]


def _event(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "event_id": r["event_id"],
        "agency_id": r["agency_id"],
        "type": r["type"],
        "occurred_at": r["occurred_at"].isoformat() if r["occurred_at"] else None,
        "recorded_at": r["recorded_at"].isoformat(),
        "retracted": r["retracted"],
        "retracts": r["retracts"],
    }
