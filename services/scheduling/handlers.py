"""The events scheduling consumes: HANDLERS maps each type to a small function, applied in the
consumer's batch transaction (shared/consumer.py makes each event count once).

References may arrive in any order: a visit before its plan's slot exists is kept and
closes the slot when the slot is made (store.close_by_logged_visits)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.scheduling import store
from shared import regions
from shared.consumer import EventConsumer
from shared.events import (
    AgencyRegistered,
    Canonical,
    ClientProfile,
    EventRetracted,
    PairingEstablished,
    ProjectStarted,
    StaffDispatched,
    VisitLogged,
    WorkerRegistered,
)
from shared.identity import client_agency

# A handler gets the event and its payload (typed by the handler; the registry pairs them).
Handler = Callable[[asyncpg.Connection, Canonical, Any], Awaitable[None]]


async def apply(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    for event in events:
        await _apply_one(conn, event)


async def _apply_one(conn: asyncpg.Connection, event: Canonical) -> None:
    await HANDLERS[event.type](conn, event, event.payload)


async def _agency_registered(
    conn: asyncpg.Connection, event: Canonical, p: AgencyRegistered
) -> None:
    # Only registrations place an agency, by the rule every service shares (shared/regions).
    registration = regions.Registration(
        p.agency_id, p.region_code, event.occurred_at, event.recorded_at,
        event.agency_id, event.event_id, p.role, p.incubated_by_pairing_id,
        await _retracted_before(conn, event.agency_id, event.event_id),
    )  # fmt: skip
    await regions.record(conn, [(registration, p.registered_on)])


async def _retracted_before(conn: asyncpg.Connection, agency_id: str, event_id: str) -> bool:
    """The event's retraction came first (references arrive in any order)."""
    return bool(
        await conn.fetchval(
            "SELECT true FROM retractions_seen WHERE agency_id = $1 AND target_event_id = $2",
            agency_id,
            event_id,
        )
    )


async def _worker_registered(
    conn: asyncpg.Connection, event: Canonical, p: WorkerRegistered
) -> None:
    await conn.execute(
        "INSERT INTO workers (agency_id, worker_id, role, languages, event_id)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agency_id, worker_id) DO UPDATE"
        " SET role = $3, languages = $4, event_id = $5, retracted = false",
        p.agency_id,
        p.worker_id,
        p.role,
        sorted(set(p.languages)),
        event.event_id,
    )


async def _client_registered(conn: asyncpg.Connection, event: Canonical, p: ClientProfile) -> None:
    await conn.execute(
        "INSERT INTO clients (agency_id, client_id, ethnicity, in_difficulty, event_id,"
        " project_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agency_id, client_id)"
        " DO UPDATE SET ethnicity = $3, in_difficulty = $4, event_id = $5, project_id = $6,"
        " retracted = false",
        event.agency_id,
        p.client_id,
        p.ethnicity,
        p.in_difficulty,
        event.event_id,
        p.project_id,
    )


async def _project_started(conn: asyncpg.Connection, event: Canonical, p: ProjectStarted) -> None:
    """Which pairing a project was started under: the pairing scope's clients (SPEC 3.6).
    Keyed by project_id; an older version arriving late changes nothing."""
    await conn.execute(
        "INSERT INTO projects (project_id, agency_id, pairing_id, event_agency, event_id,"
        " occurred_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id) DO UPDATE"
        " SET agency_id = $2, pairing_id = $3, event_agency = $4, event_id = $5,"
        " occurred_at = $6 WHERE projects.occurred_at <= EXCLUDED.occurred_at",
        p.project_id,
        p.agency_id,
        p.pairing_id,
        event.agency_id,
        event.event_id,
        event.occurred_at,
    )


async def _pairing_established(
    conn: asyncpg.Connection, event: Canonical, p: PairingEstablished
) -> None:
    await conn.execute(
        "INSERT INTO pairings (pairing_id, assisting_agency_id, assisted_agency_id,"
        " starts_on, ends_on, staff_days_per_year, agency_id, event_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (pairing_id) DO UPDATE"
        " SET assisting_agency_id = $2, assisted_agency_id = $3, starts_on = $4,"
        " ends_on = $5, staff_days_per_year = $6, agency_id = $7, event_id = $8",
        p.pairing_id,
        p.assisting_agency_id,
        p.assisted_agency_id,
        p.starts_on,
        p.ends_on,
        p.targets.staff_days_per_year,
        event.agency_id,
        event.event_id,
    )


async def _staff_dispatched(conn: asyncpg.Connection, event: Canonical, p: StaffDispatched) -> None:
    await conn.execute(
        "INSERT INTO staff_dispatches (agency_id, event_id, dispatch_id, pairing_id,"
        " worker_id, from_date, to_date, occurred_at, recorded_at, superseded)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true) ON CONFLICT DO NOTHING",
        event.agency_id,
        event.event_id,
        p.dispatch_id,
        p.pairing_id,
        p.worker_id,
        p.from_date,
        p.to_date,
        event.occurred_at,
        event.recorded_at,
    )
    await store.settle_dispatch(conn, p.pairing_id, p.dispatch_id)


async def _event_retracted(conn: asyncpg.Connection, event: Canonical, p: EventRetracted) -> None:
    await _retract(conn, event.agency_id, p.target_event_id)


async def _visit_logged(conn: asyncpg.Connection, event: Canonical, p: VisitLogged) -> None:
    """Keep the visit (not counting until its key is settled), then settle it: the newest
    version of a visit counts, and only it closes a slot."""
    await conn.execute(
        "INSERT INTO visits_logged (agency_id, event_id, visit_id, client_agency, client_id,"
        " worker_id, service, started_at, duration_min, plan_id, occurred_at, recorded_at,"
        " superseded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, true)"
        " ON CONFLICT DO NOTHING",
        event.agency_id,
        event.event_id,
        p.visit_id,
        client_agency(event.agency_id, p),
        p.client_id,
        p.worker_id,
        p.service,
        p.started_at,
        p.duration_min,
        p.plan_id,
        event.occurred_at,
        event.recorded_at,
    )
    await store.settle_visit(conn, event.agency_id, p.visit_id)


async def _retract(conn: asyncpg.Connection, agency_id: str, target: str) -> None:
    """Drop the target's effect. Slots a retracted worker already holds stay assigned."""
    await conn.execute(
        "INSERT INTO retractions_seen (agency_id, target_event_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        agency_id,
        target,
    )
    await regions.retract(conn, [(agency_id, target)])
    await conn.execute(
        "UPDATE workers SET retracted = true WHERE agency_id = $1 AND event_id = $2",
        agency_id,
        target,
    )
    await conn.execute(
        "UPDATE clients SET retracted = true WHERE agency_id = $1 AND event_id = $2",
        agency_id,
        target,
    )
    await conn.execute(
        "DELETE FROM pairings WHERE agency_id = $1 AND event_id = $2", agency_id, target
    )
    await conn.execute(
        "DELETE FROM projects WHERE event_agency = $1 AND event_id = $2", agency_id, target
    )
    dispatch = await conn.fetchrow(
        "DELETE FROM staff_dispatches WHERE agency_id = $1 AND event_id = $2"
        " RETURNING pairing_id, dispatch_id",
        agency_id,
        target,
    )
    if dispatch is not None:  # the version before it counts again
        await store.settle_dispatch(conn, dispatch["pairing_id"], dispatch["dispatch_id"])
    visit = await conn.fetchrow(
        "DELETE FROM visits_logged WHERE agency_id = $1 AND event_id = $2"
        " RETURNING visit_id, client_agency, client_id, service",
        agency_id,
        target,
    )
    if visit is not None:
        await store.reopen_slots_of_visit(conn, agency_id, target)
        await store.settle_visit(conn, agency_id, visit["visit_id"])
        await store.close_by_logged_visits(
            conn, visit["client_agency"], visit["client_id"], visit["service"]
        )


# Every event type scheduling consumes, and the one function that applies it. The durable
# consumer's subscription is derived from this registry (CONSUMED_TYPES), so a handler
# cannot be added without its events being delivered.
HANDLERS: dict[str, Handler] = {
    "agency-registered": _agency_registered,
    "worker-registered": _worker_registered,
    "client-registered": _client_registered,
    "visit-logged": _visit_logged,
    "staff-dispatched": _staff_dispatched,
    "pairing-established": _pairing_established,
    "project-started": _project_started,
    "event-retracted": _event_retracted,
}
CONSUMED_TYPES = tuple(HANDLERS)
# The subscription filter, derived from the registry: a type is delivered iff it is handled.
CONSUMER = EventConsumer(service="scheduling", durable="scheduling", event_types=CONSUMED_TYPES)
