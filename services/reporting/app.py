"""Reporting wiring: database, NATS consumer into the fact tables, HTTP routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.reporting import dashboard, projections
from services.reporting.consumer import CONSUMER
from services.reporting.facts import CONSUMED_TYPES
from services.reporting.handlers import Reports
from services.reporting.http import router
from shared import asyncapi, consumer
from shared.broker import (
    declare_stream,
    jetstream,
    make_broker,
    replicas,
    reports_stream,
)
from shared.clock import clock_from_env
from shared.db import open_pool
from shared.examples import one_of_each
from shared.http import guard, service_app, stop_tasks
from shared.readiness import consuming_service
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).with_name("migrations")
SHARED_TABLES = (consumer.SCHEMA,)  # declared by the shared code that uses them
DESCRIPTION = (
    "Live, auditable provincial reports: consumes EVENTS into its own fact tables and "
    "answers KPI summaries by region, agency, pairing, project and period."
)
log = logging.getLogger(__name__)

OPERATIONS = [
    *asyncapi.events(
        "receive", CONSUMED_TYPES, "Apply the event to reporting's fact tables (durable consumer)."
    ),
    *asyncapi.reports("send"),
    *asyncapi.dead_letters("reporting", CONSUMED_TYPES),
]


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings.from_env("reporting")
    broker = make_broker(settings)
    ASYNCAPI = asyncapi.document(
        "reporting", DESCRIPTION, settings.nats_url, OPERATIONS, one_of_each()
    )
    holder: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await open_pool(settings.database_url, MIGRATIONS, SHARED_TABLES)
        holder["pool"] = pool
        await broker.connect()
        js = jetstream(broker)
        await declare_stream(js, reports_stream(replicas(js)))
        app.state.reports = Reports(pool=pool, js=js, clock=clock_from_env())
        app.state.token_secrets = settings.token_secrets
        await broker.start()
        running = CONSUMER.start(broker, pool, projections.apply)
        holder["consumer"] = running
        tasks = [asyncio.create_task(_watch_lag(broker), name="lag"), guard(app, js)]
        try:
            yield
        finally:
            await running.stop()  # the batch in hand commits and is acked, or is redelivered
            await stop_tasks(tasks)
            await broker.stop()
            await pool.close()

    async def readiness() -> dict[str, bool]:
        return await consuming_service(holder, broker)

    app = service_app("reporting", lifespan, readiness, lambda: ASYNCAPI, DESCRIPTION)
    app.include_router(router)
    dashboard.mount(app)
    return app


async def _watch_lag(broker: Any) -> None:
    while True:
        with contextlib.suppress(Exception):
            await CONSUMER.pending(broker)
        await asyncio.sleep(2.0)
