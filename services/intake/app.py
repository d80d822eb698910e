"""Intake wiring: database, vault, NATS broker, relay, HTTP routes."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.intake import bus
from services.intake.handlers import Intake
from services.intake.http import clients_router, router
from services.intake.personal import Vault
from services.intake.sheets import http as sheets_http
from services.intake.sheets.jobs import Importer
from shared import asyncapi, outbox
from shared.broker import declare_stream, events_stream, jetstream, make_broker, replicas
from shared.db import open_pool
from shared.events import AGENCY_EVENT_TYPES, incoming_events
from shared.examples import one_of_each
from shared.http import guard, service_app, stop_tasks
from shared.outbox import Relay
from shared.readiness import database_ok, nats_ok
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).with_name("migrations")
SHARED_TABLES = (outbox.SCHEMA,)  # declared by the shared code that uses them
DESCRIPTION = (
    "The front door for agencies' frontends: validates, deduplicates and stores events, "
    "then publishes them to the EVENTS stream exactly once."
)

OPERATIONS = [
    *asyncapi.intake_requests(),
    *asyncapi.events(
        "send",
        AGENCY_EVENT_TYPES,
        "Publish each accepted event exactly once (outbox relay, Nats-Msg-Id dedup).",
    ),
]


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings.from_env("intake")
    broker = make_broker(settings)
    ASYNCAPI = asyncapi.document(
        "intake", DESCRIPTION, settings.nats_url, OPERATIONS, one_of_each()
    )
    holder: dict[str, Any] = {}
    bus.subscribe(broker, lambda: holder.get("intake"))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await open_pool(settings.database_url, MIGRATIONS, SHARED_TABLES)
        wakeup = asyncio.Event()
        intake = Intake(
            pool=pool,
            vault=Vault.from_env(),
            relay_wakeup=wakeup,
            max_backlog=int(os.environ.get("INTAKE_MAX_BACKLOG") or 100_000),
        )
        app.state.intake, app.state.token_secrets = intake, settings.token_secrets
        holder["pool"] = pool
        await broker.connect()
        js = jetstream(broker)
        await declare_stream(js, events_stream(replicas(js)))
        relay = Relay("intake", pool, js, wakeup)
        intake.backlog = lambda: relay.backlog
        tasks = [asyncio.create_task(relay.run(), name="relay"), guard(app, js)]
        holder["relay"], holder["intake"] = relay, intake
        importer = Importer(pool, intake, stale_s=float(os.environ.get("IMPORT_STALE_S") or 120))
        app.state.importer = importer
        await broker.start()
        try:
            yield
        finally:
            await importer.stop()  # running imports are marked interrupted
            await broker.stop()  # no new NATS requests; in-flight ones finish
            await stop_tasks(tasks)
            await pool.close()

    async def readiness() -> dict[str, bool]:
        return {"database": await database_ok(holder.get("pool")), "nats": nats_ok(broker)}

    app = service_app(
        "intake",
        lifespan,
        readiness,
        lambda: ASYNCAPI,
        DESCRIPTION,
    )
    app.include_router(router)
    app.include_router(clients_router)
    app.include_router(sheets_http.router)
    _document_event_schemas(app)
    return app


def _document_event_schemas(app: FastAPI) -> None:
    """Put the event contract's JSON schema into the OpenAPI document."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        events = incoming_events.json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(events.pop("$defs", {}))
        components["IncomingEvent"] = events
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
