"""A slot's life after it is made (docs/scheduling.md): closed by a logged visit (late if
the visit started after the window), reopened when that visit stops counting, cancelled
when its client's registration is retracted, overdue when its window ended a grace period
ago without a visit. Each transition that changes what reporting counts emits the event
that says so (visit-overdue) or retracts scheduling's own earlier event (event-retracted),
in the caller's transaction. `at` is when: the triggering event's recorded_at, or the
sweep's clock, so a replay emits the same events."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from services.scheduling.domain.closing import OPEN, Slot, Visit, is_late, slot_closed_by
from services.scheduling.store import emit, retract_own
from shared.events import VisitOverdue

# The id of a slot's next visit-overdue: the first keeps the historic `overdue-<slot>`; one
# declared again after a retraction takes a new id (a retraction is not retractable).
_NEXT_OVERDUE = (
    "CASE WHEN s.overdue_count = 0 THEN 'overdue-' || s.slot_id"
    " ELSE 'overdue-' || s.slot_id || '.' || (s.overdue_count + 1) END"
)
_OVERDUE_COLUMNS = (
    "s.slot_id, s.plan_id, s.agency_id, s.client_id, s.service, s.worker_id, s.window_end"
)


async def close_by_logged_visits(
    conn: asyncpg.Connection, agency_id: str, client_id: str, service: str, at: datetime
) -> int:
    """Close the client's open slots that logged visits (not yet used) account for.
    `agency_id` is the client's agency: the visit may come from another agency's worker.
    A slot that had been declared overdue has that declaration retracted."""
    rows = await conn.fetch(
        "SELECT slot_id, plan_id, client_id, service, window_start, window_end, status,"
        " overdue_event FROM slots WHERE agency_id = $1 AND client_id = $2 AND service = $3"
        " AND status = ANY($4::text[]) FOR UPDATE",
        agency_id, client_id, service, list(OPEN),
    )  # fmt: skip
    if not rows:
        return 0
    declared = {r["slot_id"]: r["overdue_event"] for r in rows}
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
            "UPDATE slots SET status = 'done', late = $5, visit_agency = $2, visit_event = $3,"
            " visit_id = $4, done_at = now(), overdue_event = NULL WHERE slot_id = $1",
            slot.slot_id, v["agency_id"], v["event_id"], v["visit_id"], is_late(visit, slot),
        )  # fmt: skip
        if declared[slot.slot_id] is not None:
            await retract_own(
                conn, declared[slot.slot_id], agency_id, at, "a logged visit closed the slot"
            )
        closed += 1
    return closed


async def reopen_slots_of_visit(
    conn: asyncpg.Connection, agency_id: str, event_id: str, at: datetime
) -> None:
    """A retracted visit no longer closes its slot: back to overdue if it had gone overdue
    before (declared again if that declaration was retracted), else due or unassigned (the
    sweep then decides)."""
    rows = await conn.fetch(
        "WITH old AS (SELECT slot_id, overdue_at IS NOT NULL AND overdue_event IS NULL AS again"
        " FROM slots WHERE visit_agency = $1 AND visit_event = $2 FOR UPDATE)"
        " UPDATE slots s SET status = CASE WHEN overdue_at IS NOT NULL THEN 'overdue'"
        " WHEN worker_id IS NOT NULL THEN 'due' ELSE 'unassigned' END, late = false,"
        " visit_agency = NULL, visit_event = NULL, visit_id = NULL, done_at = NULL,"
        f" overdue_event = CASE WHEN old.again THEN {_NEXT_OVERDUE} ELSE overdue_event END,"
        " overdue_count = s.overdue_count + old.again::int"
        " FROM old WHERE s.slot_id = old.slot_id AND s.status <> 'cancelled'"
        f" RETURNING s.overdue_event, old.again, {_OVERDUE_COLUMNS}",
        agency_id,
        event_id,
    )
    await _declare_overdue(conn, [r for r in rows if r["again"]], at)


async def cancel_slots_of_client(
    conn: asyncpg.Connection, agency_id: str, client_id: str, at: datetime
) -> None:
    """The client has no registration in force any more: its open slots are cancelled, and
    scheduling retracts what it said about them (scheduled, overdue). Slots already done
    stay: the visit happened."""
    rows = await conn.fetch(
        "WITH old AS (SELECT slot_id, overdue_event FROM slots WHERE agency_id = $1"
        " AND client_id = $2 AND status = ANY($3::text[]) FOR UPDATE)"
        " UPDATE slots s SET status = 'cancelled', overdue_event = NULL FROM old"
        " WHERE s.slot_id = old.slot_id RETURNING s.slot_id, old.overdue_event",
        agency_id,
        client_id,
        list(OPEN),
    )
    reason = "the client's registration was retracted"
    for r in sorted(rows, key=lambda r: str(r["slot_id"])):
        await retract_own(conn, f"scheduled-{r['slot_id']}", agency_id, at, reason)
        if r["overdue_event"] is not None:
            await retract_own(conn, r["overdue_event"], agency_id, at, reason)


async def mark_overdue(pool: asyncpg.Pool, before: datetime, at: datetime, limit: int = 500) -> int:
    """Turn open slots whose window ended before `before` overdue, once each, and queue one
    visit-overdue per slot in the same transaction. Rows another process holds are skipped;
    a row it already turned no longer matches `status IN ('due', 'unassigned')`."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "WITH ended AS (SELECT slot_id FROM slots WHERE status IN ('due', 'unassigned')"
            " AND overdue_at IS NULL AND window_end < $1 ORDER BY window_end LIMIT $2"
            " FOR UPDATE SKIP LOCKED)"
            " UPDATE slots s SET status = 'overdue', overdue_at = $3,"
            f" overdue_event = {_NEXT_OVERDUE}, overdue_count = s.overdue_count + 1 FROM ended"
            f" WHERE s.slot_id = ended.slot_id RETURNING s.overdue_event, {_OVERDUE_COLUMNS}",
            before,
            limit,
            at,
        )
        await _declare_overdue(conn, list(rows), at)
    return len(rows)


async def _declare_overdue(
    conn: asyncpg.Connection, rows: list[asyncpg.Record], at: datetime
) -> None:
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
        await emit(conn, r["overdue_event"], payload, r["agency_id"], at)
