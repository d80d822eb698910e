"""Scheduling's writes: agencies' regions, slots made, and the outbox rows of the events
it emits, each in the caller's transaction (slots closed, cancelled and gone overdue:
lifecycle.py).

Slots of one agency are only ever assigned under that agency's transaction-scoped
advisory lock, so two processes (or two requests) cannot book one worker twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import orjson

from services.scheduling.domain.assignment import Assignment, Booking, Opening, Worker
from shared.events import (
    SCHEMA_VERSION,
    Canonical,
    Contract,
    EventRetracted,
    Submitter,
    VisitScheduled,
    canonical_model,
    service_event,
)
from shared.subjects import UNASSIGNED_REGION, event, msg_id

# The sender of scheduling's own events: a reserved id no agency may use, so an agency can
# neither forge nor retract them.
SENDER = "scheduling"


async def region_of(conn: asyncpg.Connection | asyncpg.Pool, agency_id: str) -> str | None:
    """The agency's region in force (shared/regions.py), or None before it registers."""
    value = await conn.fetchval(
        "SELECT region_code FROM agency_regions WHERE agency_id = $1", agency_id
    )
    return str(value) if value is not None else None


async def emit(
    conn: asyncpg.Connection, event_id: str, payload: Contract, agency_id: str, at: datetime
) -> None:
    """Queue one event for EVENTS, under the client's agency's region; the id is
    deterministic, so a repeat is deduplicated."""
    region = await region_of(conn, agency_id) or UNASSIGNED_REGION
    await _queue(conn, region, service_event(event_id, payload, SENDER, region, at))


async def retract_own(
    conn: asyncpg.Connection, target_event_id: str, agency_id: str, at: datetime, reason: str
) -> None:
    """Queue scheduling's retraction of one of its own events (reporting then drops the
    target's effect). A retraction is not retractable: to say it again, scheduling emits
    the content anew under a new event id."""
    region = await region_of(conn, agency_id) or UNASSIGNED_REGION
    retraction = canonical_model("event-retracted")(
        event_id=f"retracted-{target_event_id}",
        type="event-retracted",
        schema_version=SCHEMA_VERSION,
        agency_id=SENDER,
        occurred_at=at,
        payload=EventRetracted(target_event_id=target_event_id, reason=reason),
        region_code=region,
        recorded_at=at,
        submitted_by=Submitter(kind="service", id=SENDER),
    )
    await _queue(conn, region, retraction)


async def _queue(conn: asyncpg.Connection, region: str, canonical: Canonical) -> None:
    await conn.execute(
        "INSERT INTO outbox (subject, msg_id, body) VALUES ($1, $2, $3)",
        event(region, SENDER, canonical.type),
        msg_id(SENDER, canonical.event_id),
        orjson.dumps(canonical.model_dump(mode="json")),
    )


async def lock_agency(conn: asyncpg.Connection, agency_id: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('scheduling:' || $1, 0))", agency_id
    )


async def workers_of(conn: asyncpg.Connection, agency_id: str) -> list[Worker]:
    rows = await conn.fetch(
        "SELECT worker_id, languages FROM workers WHERE agency_id = $1 AND NOT superseded",
        agency_id,
    )
    return [Worker(r["worker_id"], frozenset(r["languages"])) for r in rows]


async def bookings_between(
    conn: asyncpg.Connection, agency_id: str, start: datetime, end: datetime
) -> list[Booking]:
    """Slots of the agency's workers near [start, end] (a day either side, for the cap)."""
    rows = await conn.fetch(
        "SELECT worker_id, window_start, window_end FROM slots WHERE agency_id = $1"
        " AND worker_id IS NOT NULL AND status <> 'cancelled' AND window_end > $2"
        " AND window_start < $3",
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
