"""The events scheduling consumes: HANDLERS maps each type to a small function, applied in the
consumer's batch transaction (shared/consumer.py makes each event count once).

References may arrive in any order: a visit before its plan's slot exists is kept and
closes the slot when the slot is made (lifecycle.close_by_logged_visits). Entities follow
the rule of SPEC 3.6 business identity (entities.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.scheduling import dispatches, entities, lifecycle, visits
from shared import regions
from shared.consumer import EventConsumer
from shared.events import (
    SERVICE_SENDERS,
    AgencyRegistered,
    Canonical,
    ClientProfile,
    EventRetracted,
    PairingEstablished,
    ProjectStarted,
    WorkerRegistered,
)

# A handler gets the event and its payload (typed by the handler; the registry pairs them).
Handler = Callable[[asyncpg.Connection, Canonical, Any], Awaitable[None]]


async def apply(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    """Apply in stream order, except that events of types that never touch each other
    (GATHERED) gather into runs, each applied in a few statements, until an event of
    another group comes: the runs go first."""
    runs: dict[str, list[Canonical]] = {}
    group: str | None = None
    for event in events:
        joins = GATHERED.get(event.type)
        if joins is None or joins != group:
            await _flush(conn, runs)
            group = joins
        if joins is None:
            await _apply_one(conn, event)
        else:
            runs.setdefault(event.type, []).append(event)
    await _flush(conn, runs)


async def _flush(conn: asyncpg.Connection, runs: dict[str, list[Canonical]]) -> None:
    for event_type, run in runs.items():
        await RUNS[event_type](conn, run)
    runs.clear()


async def _apply_one(conn: asyncpg.Connection, event: Canonical) -> None:
    await HANDLERS[event.type](conn, event, event.payload)


async def _agency_registered(
    conn: asyncpg.Connection, event: Canonical, p: AgencyRegistered
) -> None:
    # Only registrations place an agency, by the rule every service shares (shared/regions).
    registration = regions.Registration(
        p.agency_id, p.region_code, event.occurred_at, event.recorded_at,
        event.agency_id, event.event_id, p.role, p.incubated_by_pairing_id,
        await entities.retracted_before(conn, event.agency_id, event.event_id),
    )  # fmt: skip
    await regions.record(conn, [(registration, p.registered_on)])


async def _workers_registered(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    versions = [
        (e, {"agency_id": p.agency_id, "worker_id": p.worker_id, "role": p.role,
             "languages": sorted(set(p.languages))})
        for e in events
        if isinstance(p := e.payload, WorkerRegistered)
    ]  # fmt: skip
    await entities.record(conn, entities.WORKERS, versions)


async def _clients_registered(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    versions = [
        (e, {"client_id": p.client_id, "ethnicity": p.ethnicity,
             "in_difficulty": p.in_difficulty, "project_id": p.project_id})
        for e in events
        if isinstance(p := e.payload, ClientProfile)
    ]  # fmt: skip
    keys = await entities.record(conn, entities.CLIENTS, versions)
    await _cancel_if_gone(conn, keys, events[-1])


async def _cancel_if_gone(
    conn: asyncpg.Connection, keys: list[entities.Key], event: Canonical
) -> None:
    """A client with no registration in force (its only one retracted) has no visits to be
    made: its open slots are cancelled (lifecycle.cancel_slots_of_client)."""
    for agency_id, client_id in await entities.without_force(conn, entities.CLIENTS, keys):
        await lifecycle.cancel_slots_of_client(conn, agency_id, client_id, event.recorded_at)


async def _project_started(conn: asyncpg.Connection, event: Canonical, p: ProjectStarted) -> None:
    """Which pairing a project was started under: the pairing scope's clients (SPEC 3.6)."""
    values = {"project_id": p.project_id, "agency_id": p.agency_id, "pairing_id": p.pairing_id}
    await entities.record(conn, entities.PROJECTS, [(event, values)])


async def _pairing_established(
    conn: asyncpg.Connection, event: Canonical, p: PairingEstablished
) -> None:
    values = {
        "pairing_id": p.pairing_id,
        "assisting_agency_id": p.assisting_agency_id,
        "assisted_agency_id": p.assisted_agency_id,
        "starts_on": p.starts_on,
        "ends_on": p.ends_on,
        "staff_days_per_year": p.targets.staff_days_per_year,
    }
    await entities.record(conn, entities.PAIRINGS, [(event, values)])


async def _event_retracted(conn: asyncpg.Connection, event: Canonical, p: EventRetracted) -> None:
    if event.agency_id in SERVICE_SENDERS:
        return  # a service's retraction of its own event: nothing of it is kept here
    await _retract(conn, event, p.target_event_id)


async def _retract(conn: asyncpg.Connection, event: Canonical, target: str) -> None:
    """Drop the target's effect, now or (remembered in retractions_seen) when it arrives.
    An entity falls back to its version before; a client left with none has its open
    slots cancelled. Slots a retracted worker already holds stay assigned."""
    agency_id, at = event.agency_id, event.recorded_at
    await conn.execute(
        "INSERT INTO retractions_seen (agency_id, target_event_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        agency_id,
        target,
    )
    await regions.retract(conn, [(agency_id, target)])
    touched = await entities.retract(conn, agency_id, target)
    await _cancel_if_gone(conn, touched.get(entities.CLIENTS, []), event)
    dispatch = await conn.fetchrow(
        "DELETE FROM staff_dispatches WHERE agency_id = $1 AND event_id = $2"
        " RETURNING pairing_id, dispatch_id",
        agency_id,
        target,
    )
    if dispatch is not None:  # the version before it counts again
        await dispatches.settle(conn, [(dispatch["pairing_id"], dispatch["dispatch_id"])])
    visit = await conn.fetchrow(
        "DELETE FROM visits_logged WHERE agency_id = $1 AND event_id = $2"
        " RETURNING visit_id, client_agency, client_id, service",
        agency_id,
        target,
    )
    if visit is not None:
        await lifecycle.reopen_slots_of_visit(conn, agency_id, target, at)
        await visits.settle(conn, [(agency_id, visit["visit_id"])], at)
        await lifecycle.close_by_logged_visits(
            conn, visit["client_agency"], visit["client_id"], visit["service"], at
        )


# The event types applied a run at a time, and the group each gathers with: types of one
# group never touch each other's rows, so their runs may be applied side by side.
RUNS: dict[str, Callable[[asyncpg.Connection, list[Canonical]], Awaitable[None]]] = {
    "visit-logged": visits.record,
    "staff-dispatched": dispatches.record,
    "worker-registered": _workers_registered,
    "client-registered": _clients_registered,
}
GATHERED = {
    "visit-logged": "facts",
    "staff-dispatched": "facts",
    "worker-registered": "people",
    "client-registered": "people",
}


def _one_of(event_type: str) -> Handler:
    async def handle(conn: asyncpg.Connection, event: Canonical, _: Any) -> None:
        await RUNS[event_type](conn, [event])

    return handle


# Every event type scheduling consumes, and the one function that applies it. The durable
# consumer's subscription is derived from this registry (CONSUMED_TYPES), so a handler
# cannot be added without its events being delivered.
HANDLERS: dict[str, Handler] = {
    "agency-registered": _agency_registered,
    "worker-registered": _one_of("worker-registered"),
    "client-registered": _one_of("client-registered"),
    "visit-logged": _one_of("visit-logged"),
    "staff-dispatched": _one_of("staff-dispatched"),
    "pairing-established": _pairing_established,
    "project-started": _project_started,
    "event-retracted": _event_retracted,
}
CONSUMED_TYPES = tuple(HANDLERS)
# The subscription filter, derived from the registry: a type is delivered iff it is handled.
CONSUMER = EventConsumer(service="scheduling", durable="scheduling", event_types=CONSUMED_TYPES)
