"""Applying consumed events to reporting's fact tables (inside the consumer's transaction)."""

from __future__ import annotations

import asyncpg

from services.reporting import rollups
from services.reporting.facts import FACT_TABLES, fact_rows, table_columns
from shared.events import Canonical, EventRetracted

TABLE_COLUMNS = table_columns()
# Every table the consumer writes, i.e. everything a rebuild makes again from EVENTS. A new
# projection table belongs here, or a rebuild would leave it as it was.
PROJECTION_TABLES = (
    *FACT_TABLES,
    *rollups.TABLES,
    "retractions",
    "watermark",
    "processed_events",
)


async def apply(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    """Add the events' facts (COPY), then let retractions drop their targets' effect."""
    if not events:
        return
    # One writer at a time (two reporting processes, or a rebuild beside the consumer):
    # "is it already retracted?" and "retract it" must not interleave across transactions,
    # or a target and its retraction applied side by side would both miss each other.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('reporting:apply', 0))")
    keys = [(e.agency_id, e.event_id) for e in events if e.type != "event-retracted"]
    retracted = await _already_retracted(conn, keys)
    for table, rows in fact_rows(events, retracted).items():
        await conn.copy_records_to_table(table, records=rows, columns=TABLE_COLUMNS[table])
        if table == "visit_facts":  # (agency, event, retracted, client, service, day, minutes)
            await rollups.add(conn, [(r[0], r[3], r[4], r[5], r[6]) for r in rows if not r[2]])
        if table in rollups.TOTALLED:
            columns = TABLE_COLUMNS[table]
            kept = [dict(zip(columns, r, strict=True)) for r in rows if not r[2]]
            await rollups.change_totals(conn, table, kept, +1)
    await _retract(conn, [e for e in events if isinstance(e.payload, EventRetracted)])
    newest = max(e.recorded_at for e in events)
    await conn.execute(
        "INSERT INTO watermark (id, recorded_at, events) VALUES (true, $1, $2)"
        " ON CONFLICT (id) DO UPDATE SET recorded_at = greatest(watermark.recorded_at, $1),"
        " events = watermark.events + $2",
        newest,
        len(events),
    )


async def _already_retracted(
    conn: asyncpg.Connection, keys: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Keys whose retraction arrived before the event itself."""
    if not keys:
        return set()
    rows = await conn.fetch(
        "SELECT r.agency_id, r.target_event_id FROM retractions r"
        " JOIN unnest($1::text[], $2::text[]) AS k(a, e)"
        " ON r.agency_id = k.a AND r.target_event_id = k.e",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["agency_id"], r["target_event_id"]) for r in rows}


async def _retract(conn: asyncpg.Connection, retractions: list[Canonical]) -> None:
    """A retraction targets an event of its own agency; history keeps both."""
    if not retractions:
        return
    agencies = [e.agency_id for e in retractions]
    targets = [e.payload.target_event_id for e in retractions]  # type: ignore[attr-defined]
    await conn.executemany(
        "INSERT INTO retractions (agency_id, target_event_id, event_id, reason)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [
            (e.agency_id, e.payload.target_event_id, e.event_id, e.payload.reason)  # type: ignore[attr-defined]
            for e in retractions
        ],
    )
    for table in FACT_TABLES:
        changed = await conn.fetch(
            f"UPDATE {table} f SET retracted = true FROM unnest($1::text[], $2::text[]) AS k(a, e)"
            " WHERE f.agency_id = k.a AND f.event_id = k.e AND NOT f.retracted" + _returning(table),
            agencies,
            targets,
        )
        if table == "visit_facts":
            await rollups.take_out(conn, [tuple(r) for r in changed])
        if table in rollups.TOTALLED:
            await rollups.change_totals(conn, table, [dict(r) for r in changed], -1)


def _returning(table: str) -> str:
    """What a retraction must hand back to take a fact out of the rollups."""
    if table == "visit_facts":
        return " RETURNING f.agency_id, f.client_id, f.service, f.visited_on, f.duration_min"
    if table in rollups.TOTALLED:
        return " RETURNING " + ", ".join(f"f.{c}" for c in rollups.TOTALLED[table][0])
    return ""


async def reset(conn: asyncpg.Connection) -> None:
    """Drop every projection: facts, retractions, watermark, processed keys."""
    await conn.execute(f"TRUNCATE {', '.join(PROJECTION_TABLES)}")
