"""Care plans in the database, and turning them into assigned slots up to a horizon.

A plan is scheduled when it is created and again whenever the rolling horizon passes
its `scheduled_through` date; both run under the agency's lock (store.lock_agency)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
import orjson

from services.scheduling import lifecycle, store
from services.scheduling.domain.assignment import Assignment, Opening, assign
from services.scheduling.domain.recurrence import Recurrence, Window, finished, occurrences


@dataclass(frozen=True)
class Plan:
    plan_id: str
    agency_id: str
    client_id: str
    service: str
    recurrence: Recurrence
    window: Window
    preferred_worker_id: str | None
    required_language: str | None


def slot_id(plan_id: str, seq: int) -> str:
    return f"{plan_id}.{seq:04d}"


async def insert(conn: asyncpg.Connection, plan: Plan, request_hash: bytes) -> bool:
    """Store a new plan; False if the plan id is taken."""
    rec = plan.recurrence
    recurrence = {
        "kind": rec.kind, "start": rec.start.isoformat(), "every": rec.every,
        "end": rec.end.isoformat() if rec.end else None, "count": rec.count,
        "day_of_month": rec.day_of_month,
    }  # fmt: skip
    inserted = await conn.fetchval(
        "INSERT INTO care_plans (plan_id, agency_id, client_id, service, recurrence,"
        " window_opens, window_closes, preferred_worker_id, required_language, request_hash,"
        " scheduled_through) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (plan_id) DO NOTHING RETURNING true",
        plan.plan_id, plan.agency_id, plan.client_id, plan.service,
        orjson.dumps(recurrence).decode(), plan.window.opens, plan.window.closes,
        plan.preferred_worker_id, plan.required_language, request_hash,
        plan.recurrence.start - timedelta(days=1),
    )  # fmt: skip
    return bool(inserted)


def _plan(row: asyncpg.Record) -> Plan:
    raw: dict[str, Any] = orjson.loads(row["recurrence"])
    rec = Recurrence(
        kind=raw["kind"],
        start=date.fromisoformat(raw["start"]),
        every=raw["every"],
        end=date.fromisoformat(raw["end"]) if raw["end"] else None,
        count=raw["count"],
        day_of_month=raw["day_of_month"],
    )
    opens: time = row["window_opens"]
    closes: time = row["window_closes"]
    return Plan(
        row["plan_id"], row["agency_id"], row["client_id"], row["service"], rec,
        Window(opens, closes), row["preferred_worker_id"], row["required_language"],
    )  # fmt: skip


async def load(conn: asyncpg.Connection, plan_id: str) -> tuple[Plan, bytes] | None:
    row = await conn.fetchrow("SELECT * FROM care_plans WHERE plan_id = $1", plan_id)
    return (_plan(row), bytes(row["request_hash"])) if row else None


async def due_for_extension(pool: asyncpg.Pool, until: date, limit: int = 100) -> list[str]:
    """Plans to extend up to `until`; not those of a client with no registration in force
    (its slots were cancelled: nobody is to be visited)."""
    rows = await pool.fetch(
        "SELECT plan_id FROM care_plans p WHERE NOT finished AND scheduled_through < $1"
        " AND EXISTS (SELECT 1 FROM clients c WHERE c.agency_id = p.agency_id"
        " AND c.client_id = p.client_id AND NOT c.superseded)"
        " ORDER BY scheduled_through LIMIT $2",
        until,
        limit,
    )
    return [r["plan_id"] for r in rows]


async def schedule(
    conn: asyncpg.Connection, plan_id: str, until: date, now: datetime, daily_cap: int
) -> list[store.NewSlot]:
    """Make and assign the plan's slots dated up to `until` that do not exist yet.

    Visits whose window has already ended when they would be scheduled are not made: an
    elder cannot be visited in the past, and nobody was told to go."""
    loaded = await load(conn, plan_id)
    assert loaded is not None
    plan = loaded[0]
    await store.lock_agency(conn, plan.agency_id)
    through = await conn.fetchval(
        "SELECT scheduled_through FROM care_plans WHERE plan_id = $1 FOR UPDATE", plan_id
    )
    if through >= until:
        return []  # another process got here first
    openings = []
    for seq, day in enumerate(occurrences(plan.recurrence, until), start=1):
        start, end = plan.window.on(day)
        if day > through and end > now:
            openings.append((seq, Opening(slot_id(plan_id, seq), start, end)))
    new = await _assign(conn, plan, openings, daily_cap)
    await store.insert_slots(conn, new, now)
    await conn.execute(
        "UPDATE care_plans SET scheduled_through = $2, finished = $3 WHERE plan_id = $1",
        plan_id,
        until,
        finished(plan.recurrence, until),
    )
    if new:
        await lifecycle.close_by_logged_visits(
            conn, plan.agency_id, plan.client_id, plan.service, now
        )
    return new


async def _assign(
    conn: asyncpg.Connection, plan: Plan, openings: list[tuple[int, Opening]], daily_cap: int
) -> list[store.NewSlot]:
    if not openings:
        return []
    first, last = openings[0][1], openings[-1][1]
    bookings = await store.bookings_between(conn, plan.agency_id, first.start, last.end)
    workers = await store.workers_of(conn, plan.agency_id)
    results: dict[str, Assignment] = {
        a.slot_id: a
        for a in assign(
            [o for _, o in openings],
            workers,
            bookings,
            language=plan.required_language,
            preferred=plan.preferred_worker_id,
            daily_cap=daily_cap,
        )
    }
    return [
        store.NewSlot(
            o.slot_id, plan.plan_id, seq, plan.agency_id, plan.client_id, plan.service,
            o, results[o.slot_id],
        )
        for seq, o in openings
    ]  # fmt: skip
