"""Scheduling wiring: database, clock, NATS consumer of EVENTS, outbox relay, the sweeper
(overdue slots, rolling horizon) and the HTTP routes.

Intake owns the EVENTS stream; scheduling waits for it to exist before declaring its
durable consumer, and is not ready until then."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.scheduling import handlers
from services.scheduling.catchup import CatchUp, ConsumerState
from services.scheduling.http import router
from services.scheduling.usecases import Scheduling
from shared import asyncapi, consumer, outbox, regions
from shared.outbox import Relay
from shared.runtime import Blueprint, Runtime, build_app
from shared.settings import Settings
from shared.subjects import EVENTS_STREAM

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
SHARED_TABLES = (
    outbox.SCHEMA,
    consumer.SCHEMA,
    regions.SCHEMA,
)  # declared by the shared code that uses them
DESCRIPTION = (
    "Turns care plans into visit slots assigned to workers who speak the client's language, "
    "never double-booked; says what is due, done and overdue, and the staff-dispatch pace."
)
OPERATIONS = [
    *asyncapi.events(
        "receive",
        handlers.CONSUMED_TYPES,
        "Apply the event to scheduling's clients, workers, plans and slots (durable consumer).",
    ),
    *asyncapi.events(
        "send",
        ("visit-scheduled", "visit-overdue", "event-retracted"),
        "visit-scheduled (one per slot made), visit-overdue (once per slot whose window "
        "ended a grace period ago without a logged visit) and event-retracted (of its own "
        "events only: an overdue slot a visit closed, a cancelled slot), through "
        "scheduling's outbox; event ids scheduled-<slot_id>, overdue-<slot_id> (then "
        "overdue-<slot_id>.<n> if declared again) and retracted-<target event id>.",
    ),
    *asyncapi.dead_letters("scheduling", handlers.CONSUMED_TYPES),
]
CONSUMER = handlers.CONSUMER


async def _forever(name: str, step: Callable[[], Awaitable[None]], pause_s: float) -> None:
    """Run `step` every `pause_s` seconds until cancelled; a failure is logged, not fatal."""
    while True:
        try:
            await step()
        except Exception as exc:
            log.warning("%s failed (%s); retrying in %.1fs", name, exc, pause_s)
        await asyncio.sleep(pause_s)


async def start(runtime: Runtime[Scheduling], app: FastAPI) -> Scheduling:
    """Scheduling's relay publishes the slots' events; the sweeper keeps slots current."""
    assert runtime.pool is not None
    config = runtime.settings.scheduling
    wakeup = asyncio.Event()
    js = runtime.js

    async def consumer_state() -> ConsumerState:
        info = await js.consumer_info(EVENTS_STREAM, CONSUMER.durable)
        delivered, acked = info.delivered, info.ack_floor
        return ConsumerState(
            pending=int(info.num_pending or 0),
            in_flight=int(info.num_ack_pending or 0),
            delivered=int(delivered.stream_seq or 0) if delivered else 0,
            acked=int(acked.stream_seq or 0) if acked else 0,
        )

    scheduling = Scheduling(
        runtime.pool, runtime.clock, wakeup, config.horizon_days, config.daily_cap,
        timedelta(seconds=config.overdue_grace_s), CatchUp(consumer_state),
    )  # fmt: skip
    relay = Relay("scheduling", runtime.pool, runtime.js, wakeup)
    runtime.background("relay", relay.run())
    runtime.background("sweep", _forever("sweep", scheduling.sweep, config.sweep_interval_s))
    app.state.scheduling = scheduling
    return scheduling


BLUEPRINT: Blueprint[Scheduling] = Blueprint(
    name="scheduling",
    description=DESCRIPTION,
    migrations=MIGRATIONS,
    shared_tables=SHARED_TABLES,
    start=start,
    consumer=CONSUMER,
    apply=handlers.apply,
    operations=OPERATIONS,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    app = build_app(BLUEPRINT, settings)
    app.include_router(router)
    return app
