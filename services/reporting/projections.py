"""Applying consumed events to reporting's fact tables (inside the consumer's transaction)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import asyncpg

from services.reporting import day_totals, rollups
from services.reporting.approvals import store as approvals
from services.reporting.facts import FACT_TABLES, KEYED, fact_rows, table_columns
from services.reporting.metrics import UNASSIGNED_AGENCIES
from shared import regions
from shared.events import SERVICE_SENDERS, AgencyRegistered, Canonical, EventRetracted

TABLE_COLUMNS = table_columns()
# Every table the consumer writes, i.e. everything a rebuild makes again from EVENTS. A new
# projection table belongs here, or a rebuild would leave it as it was.
PROJECTION_TABLES = (
    *FACT_TABLES,
    *rollups.TABLES,
    *day_totals.TABLES,
    "agency_registrations",
    "agency_regions",
    "agency_sightings",
    "retractions",
    "watermark",
    "processed_events",
    "approvals",
)
Keys = dict[str, set[tuple[str, str]]]  # keyed fact table -> business keys to settle


async def apply(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    """Add the events' facts (COPY), let retractions drop their targets' effect, then
    settle which row of each business key counts (SPEC 3.6: the newest wins)."""
    if not events:
        return
    # One writer at a time (two reporting processes, or a rebuild beside the consumer):
    # "is it already retracted?" and "retract it" must not interleave across transactions,
    # or a target and its retraction applied side by side would both miss each other.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('reporting:apply', 0))")
    keys = [(e.agency_id, e.event_id) for e in events if e.type != "event-retracted"]
    retracted = await _already_retracted(conn, keys)
    touched: Keys = defaultdict(set)
    for table, rows in fact_rows(events, retracted).items():
        columns = TABLE_COLUMNS[table]
        await conn.copy_records_to_table(table, records=rows, columns=columns)
        if table in KEYED:
            first, second = (columns.index(c) for c in KEYED[table])
            touched[table] |= {(r[first], r[second]) for r in rows}
    retractions = [e for e in events if isinstance(e.payload, EventRetracted)]
    await _retract(conn, retractions, touched)
    for table, found in touched.items():
        await _settle(conn, table, found)
    await _place_agencies(conn, events, retracted, retractions)
    await _sightings(conn, events)
    await approvals.record(conn, events)
    newest = max(e.recorded_at for e in events)
    await conn.execute(
        "INSERT INTO watermark (id, recorded_at, events) VALUES (true, $1, $2)"
        " ON CONFLICT (id) DO UPDATE SET recorded_at = greatest(watermark.recorded_at, $1),"
        " events = watermark.events + $2",
        newest,
        len(events),
    )


async def _place_agencies(
    conn: asyncpg.Connection,
    events: list[Canonical],
    retracted: set[tuple[str, str]],
    retractions: list[Canonical],
) -> None:
    """Registrations and their retractions place agencies by the one rule (shared/regions)."""
    await regions.record(
        conn,
        [
            (
                regions.Registration(
                    p.agency_id, p.region_code, e.occurred_at, e.recorded_at, e.agency_id,
                    e.event_id, p.role, p.incubated_by_pairing_id,
                    (e.agency_id, e.event_id) in retracted,
                ),
                p.registered_on,
            )
            for e in events
            if isinstance(p := e.payload, AgencyRegistered)
        ],
    )  # fmt: skip
    await regions.retract(
        conn,
        [(e.agency_id, e.payload.target_event_id) for e in retractions],  # type: ignore[attr-defined]
    )


UNASSIGNED_COUNT = (
    "SELECT count(DISTINCT agency_id) FROM agency_sightings s"
    " WHERE NOT EXISTS (SELECT 1 FROM agency_regions r WHERE r.agency_id = s.agency_id)"
)


async def _sightings(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    """Count each agency's events by type, so agencies that never registered are visible
    (SPEC 3.6): GET /v1/reports/unassigned and the gauge."""
    seen: dict[tuple[str, str], list[Any]] = {}
    for e in events:
        if e.agency_id in SERVICE_SENDERS:
            continue
        s = seen.setdefault((e.agency_id, e.type), [0, e.recorded_at, e.recorded_at])
        s[0], s[1], s[2] = s[0] + 1, min(s[1], e.recorded_at), max(s[2], e.recorded_at)
    if seen:
        await conn.execute(
            "INSERT INTO agency_sightings (agency_id, type, events, first_seen, last_seen)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[],"
            " $5::timestamptz[]) ON CONFLICT (agency_id, type) DO UPDATE SET"
            " events = agency_sightings.events + EXCLUDED.events,"
            " first_seen = least(agency_sightings.first_seen, EXCLUDED.first_seen),"
            " last_seen = greatest(agency_sightings.last_seen, EXCLUDED.last_seen)",
            [k[0] for k in seen],
            [k[1] for k in seen],
            [v[0] for v in seen.values()],
            [v[1] for v in seen.values()],
            [v[2] for v in seen.values()],
        )
    UNASSIGNED_AGENCIES.set(await conn.fetchval(UNASSIGNED_COUNT))


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


async def _retract(conn: asyncpg.Connection, retractions: list[Canonical], touched: Keys) -> None:
    """A retraction targets an event of its own agency; history keeps both. A keyed fact
    that counted is taken out, and its key settled again (the one before it counts)."""
    if not retractions:
        return
    agencies = [e.agency_id for e in retractions]
    targets = [e.payload.target_event_id for e in retractions]  # type: ignore[attr-defined]
    await conn.executemany(
        "INSERT INTO retractions (agency_id, target_event_id, event_id, reason, recorded_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        [
            (e.agency_id, e.payload.target_event_id, e.event_id, e.payload.reason, e.recorded_at)  # type: ignore[attr-defined]
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
        if table in KEYED:
            first, second = KEYED[table]
            touched[table] |= {(r[first], r[second]) for r in changed}
            await _count(conn, table, [dict(r) for r in changed if not r["superseded"]], -1)


async def _settle(conn: asyncpg.Connection, table: str, keys: set[tuple[str, str]]) -> None:
    """Of each business key's rows, the newest not retracted counts; the rollups follow
    the rows that start or stop counting."""
    if not keys:
        return
    first, second = KEYED[table]
    ordered = sorted(keys)
    changed = await conn.fetch(
        f"WITH k AS (SELECT DISTINCT a, b FROM unnest($1::text[], $2::text[]) AS k(a, b)),"
        f" ranked AS (SELECT f.agency_id AS ea, f.event_id AS ee, NOT f.retracted AND"
        f"   row_number() OVER (PARTITION BY f.{first}, f.{second} ORDER BY f.retracted,"
        f"   f.occurred_at DESC, f.recorded_at DESC, f.agency_id DESC, f.event_id DESC) = 1"
        f"   AS wins FROM {table} f JOIN k ON f.{first} = k.a AND f.{second} = k.b)"
        f" UPDATE {table} f SET superseded = NOT r.wins FROM ranked r"
        f" WHERE f.agency_id = r.ea AND f.event_id = r.ee AND f.superseded = r.wins"
        + _returning(table, ", r.wins"),
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    stopped = [dict(r) for r in changed if not r["wins"] and not r["retracted"]]
    await _count(conn, table, stopped, -1)
    await _count(conn, table, [dict(r) for r in changed if r["wins"]], +1)


async def _count(
    conn: asyncpg.Connection, table: str, rows: list[dict[str, Any]], sign: int
) -> None:
    """Add rows that start counting to the rollups (sign 1), take out those that stop (-1)."""
    if not rows:
        return
    if table == "visit_facts":
        visits = [
            (r["agency_id"], r["client_agency"], r["client_id"], r["service"], r["visited_on"],
             r["duration_min"])
            for r in rows
        ]  # fmt: skip
        await (rollups.add(conn, visits) if sign > 0 else rollups.take_out(conn, visits))
    elif table in rollups.TOTALLED:
        await rollups.change_totals(conn, table, rows, sign)
    await day_totals.change(conn, table, rows, sign)


def _returning(table: str, extra: str = "") -> str:
    """What a change must hand back: the key, whether it counted, and the rollups' inputs."""
    if table not in KEYED:
        return ""
    wanted = {"retracted", "superseded", *KEYED[table]}
    if table == "visit_facts":
        wanted |= {"client_agency", "client_id", "service", "visited_on", "duration_min"}
    elif table in rollups.TOTALLED:
        wanted |= set(rollups.TOTALLED[table][0])
    wanted |= set(day_totals.COLUMNS.get(table, ()))
    wanted.add("agency_id")
    return " RETURNING " + ", ".join(f"f.{c}" for c in sorted(wanted)) + extra


async def reset(conn: asyncpg.Connection) -> None:
    """Drop every projection: facts, retractions, watermark, processed keys."""
    await conn.execute(f"TRUNCATE {', '.join(PROJECTION_TABLES)}")
