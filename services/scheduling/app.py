"""Scheduling wiring: database, clock, NATS consumer of EVENTS, outbox relay, the sweeper
(overdue slots, rolling horizon) and the HTTP routes.

Intake owns the EVENTS stream; scheduling waits for it to exist before declaring its
durable consumer, and is not ready until then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.scheduling import projections
from services.scheduling.handlers import Scheduling
from services.scheduling.http import router
from shared import asyncapi, consumer, outbox
from shared.broker import jetstream, make_broker
from shared.clock import clock_from_env
from shared.consumer import EventConsumer
from shared.db import open_pool
from shared.examples import one_of_each
from shared.http import guard, service_app, stop_tasks
from shared.outbox import Relay
from shared.readiness import consuming_service
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
SHARED_TABLES = (outbox.SCHEMA, consumer.SCHEMA)  # declared by the shared code that uses them
DESCRIPTION = (
    "Turns care plans into visit slots assigned to workers who speak the client's language, "
    "never double-booked; says what is due, done and overdue, and the staff-dispatch pace."
)
OPERATIONS = [
    *asyncapi.events(
        "receive",
        projections.CONSUMED_TYPES,
        "Apply the event to scheduling's clients, workers, plans and slots (durable consumer).",
    ),
    *asyncapi.events(
        "send",
        ("visit-scheduled", "visit-overdue"),
        "visit-scheduled (one per slot made) and visit-overdue (once per slot whose window "
        "ended without a logged visit), through scheduling's outbox; event ids "
        "scheduled-<slot_id> and overdue-<slot_id>.",
    ),
    *asyncapi.dead_letters("scheduling", projections.CONSUMED_TYPES),
]
CONSUMER = EventConsumer(
    service="scheduling", durable="scheduling", event_types=projections.CONSUMED_TYPES
)


@dataclass(frozen=True)
class SchedulingConfig:
    """SCHEDULING_HORIZON_DAYS (56: slots exist eight weeks ahead), SCHEDULING_DAILY_CAP
    (4 visits a worker a day), SCHEDULING_SWEEP_INTERVAL_S (30)."""

    horizon_days: int = 56
    daily_cap: int = 4
    sweep_interval_s: float = 30.0

    @classmethod
    def from_env(cls) -> SchedulingConfig:
        env = os.environ
        return cls(
            horizon_days=int(env.get("SCHEDULING_HORIZON_DAYS") or cls.horizon_days),
            daily_cap=int(env.get("SCHEDULING_DAILY_CAP") or cls.daily_cap),
            sweep_interval_s=float(env.get("SCHEDULING_SWEEP_INTERVAL_S") or cls.sweep_interval_s),
        )


async def _forever(name: str, step: Callable[[], Awaitable[None]], pause_s: float) -> None:
    """Run `step` every `pause_s` seconds until cancelled; a failure is logged, not fatal."""
    while True:
        try:
            await step()
        except Exception as exc:
            log.warning("%s failed (%s); retrying in %.1fs", name, exc, pause_s)
        await asyncio.sleep(pause_s)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings.from_env("scheduling")
    config = SchedulingConfig.from_env()
    broker = make_broker(settings)
    document = asyncapi.document(
        "scheduling", DESCRIPTION, settings.nats_url, OPERATIONS, one_of_each()
    )
    holder: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await open_pool(settings.database_url, MIGRATIONS, SHARED_TABLES)
        holder["pool"] = pool
        wakeup = asyncio.Event()
        scheduling = Scheduling(
            pool, clock_from_env(), wakeup, config.horizon_days, config.daily_cap
        )
        app.state.scheduling, app.state.token_secrets = scheduling, settings.token_secrets
        await broker.connect()
        await broker.start()
        relay = Relay("scheduling", pool, jetstream(broker), wakeup)
        holder["consumer"] = CONSUMER.start(broker, pool, projections.apply)
        tasks = [
            asyncio.create_task(relay.run(), name="relay"),
            asyncio.create_task(
                _forever("sweep", scheduling.sweep, config.sweep_interval_s), name="sweep"
            ),
            guard(app, jetstream(broker)),
        ]
        try:
            yield
        finally:
            await holder["consumer"].stop()  # the batch in hand commits and is acked
            await stop_tasks(tasks)
            await broker.stop()
            await pool.close()

    async def readiness() -> dict[str, bool]:
        return await consuming_service(holder, broker)

    app = service_app(
        "scheduling",
        lifespan,
        readiness,
        lambda: document,
        DESCRIPTION,
    )
    app.include_router(router)
    return app
