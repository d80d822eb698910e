"""Scheduling's writes: agencies' regions, slots made, closed and gone overdue, and the
outbox rows of the events that says so, each in the caller's transaction.

Slots of one agency are only ever assigned under that agency's transaction-scoped
advisory lock, so two processes (or two requests) cannot book one worker twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import orjson

from services.scheduling.domain.assignment import Assignment, Booking, Opening, Worker
from services.scheduling.domain.closing import OPEN, Slot, Visit, slot_closed_by
from shared.events import Contract, VisitOverdue, VisitScheduled, service_event
from shared.subjects import UNASSIGNED_REGION, event, msg_id


async def region_of(conn: asyncpg.Connection | asyncpg.Pool, agency_id: str) -> str | None:
    """The agency's region in force (shared/regions.py), or None before it registers."""
    value = await conn.fetchval(
        "SELECT region_code FROM agency_regions WHERE agency_id = $1", agency_id
    )
    return str(value) if value is not None else None


async def emit(
    conn: asyncpg.Connection, event_id: str, payload: Contract, agency_id: str, at: datetime
) -> None:
    """Queue one event for EVENTS; the id is deterministic, so a repeat is deduplicated.

    The sender is scheduling itself (a reserved id no agency may use), under the client's
    agency's region: an agency can neither forge nor retract these events."""
    region = await region_of(conn, agency_id) or UNASSIGNED_REGION
    canonical = service_event(event_id, payload, SENDER, region, at)
    await conn.execute(
        "INSERT INTO outbox (subject, msg_id, body) VALUES ($1, $2, $3)",
        event(region, SENDER, canonical.type),
        msg_id(SENDER, event_id),
        orjson.dumps(canonical.model_dump(mode="json")),
    )


SENDER = "scheduling"


async def lock_agency(conn: asyncpg.Connection, agency_id: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('scheduling:' || $1, 0))", agency_id
    )


async def workers_of(conn: asyncpg.Connection, agency_id: str) -> list[Worker]:
    rows = await conn.fetch(
        "SELECT worker_id, languages FROM workers WHERE agency_id = $1 AND NOT retracted",
        agency_id,
    )
    return [Worker(r["worker_id"], frozenset(r["languages"])) for r in rows]


async def bookings_between(
    conn: asyncpg.Connection, agency_id: str, start: datetime, end: datetime
) -> list[Booking]:
    """Slots of the agency's workers near [start, end] (a day either side, for the cap)."""
    rows = await conn.fetch(
        "SELECT worker_id, window_start, window_end FROM slots WHERE agency_id = $1"
        " AND worker_id IS NOT NULL AND window_end > $2 AND window_start < $3",
        agency_id,
        start - timedelta(days=1),
        end + timedelta(days=1),
    )
    return [Booking(r["worker_id"], r["window_start"], r["window_end"]) for r in rows]


@dataclass(frozen=True)
class NewSlot:
    slot_id: str
    plan_id: str
    seq: int
    agency_id: str
    client_id: str
    service: str
    opening: Opening
    assignment: Assignment


async def insert_slots(conn: asyncpg.Connection, slots: list[NewSlot], now: datetime) -> None:
    """Store the slots and queue one visit-scheduled each."""
    await conn.executemany(
        "INSERT INTO slots (slot_id, plan_id, seq, agency_id, client_id, service, worker_id,"
        " window_start, window_end, status, conflict)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        [
            (
                s.slot_id, s.plan_id, s.seq, s.agency_id, s.client_id, s.service,
                s.assignment.worker_id, s.opening.start, s.opening.end,
                "due" if s.assignment.worker_id else "unassigned", s.assignment.conflict,
            )
            for s in slots
        ],
    )  # fmt: skip
    for s in slots:
        payload = VisitScheduled(
            agency_id=s.agency_id,
            slot_id=s.slot_id,
            plan_id=s.plan_id,
            client_id=s.client_id,
            service=s.service,
            worker_id=s.assignment.worker_id,
            window_start=s.opening.start,
            window_end=s.opening.end,
        )
        await emit(conn, f"scheduled-{s.slot_id}", payload, s.agency_id, now)


_SETTLE = """
WITH ranked AS (
    SELECT agency_id AS ea, event_id AS ee, row_number() OVER (
               ORDER BY occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC) = 1
           AS wins
    FROM {table} WHERE {key}
)
UPDATE {table} t SET superseded = NOT r.wins FROM ranked r
WHERE t.agency_id = r.ea AND t.event_id = r.ee AND t.superseded = r.wins
RETURNING {returning}, r.wins
"""


async def settle_visit(conn: asyncpg.Connection, agency_id: str, visit_id: str) -> None:
    """Of a visit's versions (agency, visit_id), the newest counts (SPEC 3.6): a version
    that stops counting gives back the slot it closed, and the one that counts may close
    one. So a visit re-sent under a new event id closes one slot, not two."""
    changed = await conn.fetch(
        _SETTLE.format(
            table="visits_logged",
            key="agency_id = $1 AND visit_id = $2",
            returning="t.event_id, t.client_agency, t.client_id, t.service",
        ),
        agency_id,
        visit_id,
    )
    for row in changed:
        if not row["wins"]:
            await reopen_slots_of_visit(conn, agency_id, row["event_id"])
    for client in sorted({(r["client_agency"], r["client_id"], r["service"]) for r in changed}):
        await close_by_logged_visits(conn, *client)


async def settle_dispatch(conn: asyncpg.Connection, pairing_id: str, dispatch_id: str) -> None:
    """Of a dispatch's versions (pairing, dispatch_id), the newest counts."""
    await conn.execute(
        _SETTLE.format(
            table="staff_dispatches",
            key="pairing_id = $1 AND dispatch_id = $2",
            returning="t.event_id",
        ),
        pairing_id,
        dispatch_id,
    )


async def close_by_logged_visits(
    conn: asyncpg.Connection, agency_id: str, client_id: str, service: str
) -> int:
    """Close the client's open slots that logged visits (not yet used) account for.
    `agency_id` is the client's agency: the visit may come from another agency's worker."""
    rows = await conn.fetch(
        "SELECT slot_id, plan_id, client_id, service, window_start, window_end, status"
        " FROM slots WHERE agency_id = $1 AND client_id = $2 AND service = $3"
        " AND status = ANY($4::text[]) FOR UPDATE",
        agency_id, client_id, service, list(OPEN),
    )  # fmt: skip
    if not rows:
        return 0
    open_slots = [
        Slot(r["slot_id"], r["plan_id"], r["client_id"], r["service"],
             r["window_start"], r["window_end"], r["status"])
        for r in rows
    ]  # fmt: skip
    visits = await conn.fetch(
        "SELECT v.agency_id, v.event_id, v.visit_id, v.client_id, v.service, v.started_at,"
        " v.plan_id FROM visits_logged v LEFT JOIN slots s"
        "   ON s.visit_agency = v.agency_id AND s.visit_event = v.event_id"
        " WHERE v.client_agency = $1 AND v.client_id = $2 AND v.service = $3"
        " AND NOT v.superseded AND s.slot_id IS NULL AND v.started_at >= $4"
        " ORDER BY v.started_at, v.event_id",
        agency_id, client_id, service, min(s.start for s in open_slots) - timedelta(days=1),
    )  # fmt: skip
    closed = 0
    for v in visits:
        visit = Visit(v["client_id"], v["service"], v["started_at"], v["plan_id"])
        slot = slot_closed_by(visit, open_slots)
        if slot is None:
            continue
        open_slots.remove(slot)
        await conn.execute(
            "UPDATE slots SET status = 'done', visit_agency = $2, visit_event = $3,"
            " visit_id = $4, done_at = now() WHERE slot_id = $1",
            slot.slot_id, v["agency_id"], v["event_id"], v["visit_id"],
        )  # fmt: skip
        closed += 1
    return closed


async def reopen_slots_of_visit(conn: asyncpg.Connection, agency_id: str, event_id: str) -> None:
    """A retracted visit no longer closes its slot: back to overdue if it had gone overdue
    before (never emitted twice), else due or unassigned (the sweeper then decides)."""
    await conn.execute(
        "UPDATE slots SET status = CASE WHEN overdue_at IS NOT NULL THEN 'overdue'"
        " WHEN worker_id IS NOT NULL THEN 'due' ELSE 'unassigned' END,"
        " visit_agency = NULL, visit_event = NULL, visit_id = NULL, done_at = NULL"
        " WHERE visit_agency = $1 AND visit_event = $2",
        agency_id,
        event_id,
    )


async def mark_overdue(pool: asyncpg.Pool, now: datetime, limit: int = 500) -> int:
    """Turn open slots whose window ended before `now` overdue, once each, and queue one
    visit-overdue per slot in the same transaction. Rows another process holds are skipped;
    a row it already turned no longer matches `status IN ('due', 'unassigned')`."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "WITH ended AS (SELECT slot_id FROM slots WHERE status IN ('due', 'unassigned')"
            " AND overdue_at IS NULL AND window_end < $1 ORDER BY window_end LIMIT $2"
            " FOR UPDATE SKIP LOCKED)"
            " UPDATE slots s SET status = 'overdue', overdue_at = $1 FROM ended"
            " WHERE s.slot_id = ended.slot_id"
            " RETURNING s.slot_id, s.plan_id, s.agency_id, s.client_id, s.service,"
            " s.worker_id, s.window_end",
            now,
            limit,
        )
        for r in rows:
            payload = VisitOverdue(
                agency_id=r["agency_id"],
                slot_id=r["slot_id"],
                plan_id=r["plan_id"],
                client_id=r["client_id"],
                service=r["service"],
                worker_id=r["worker_id"],
                window_end=r["window_end"],
            )
            await emit(conn, f"overdue-{r['slot_id']}", payload, r["agency_id"], now)
    return len(rows)
