"""Intake wiring: database, vault, NATS broker, relay, HTTP routes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.intake import bus
from services.intake.http import clients_router, router
from services.intake.personal import Vault
from services.intake.sheets import http as sheets_http
from services.intake.sheets.jobs import Importer
from services.intake.usecases import Intake
from shared import asyncapi, outbox, regions
from shared.broker import declare_stream, events_stream, replicas
from shared.events import AGENCY_EVENT_TYPES, incoming_events
from shared.outbox import Relay
from shared.runtime import Blueprint, Runtime, build_app
from shared.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
SHARED_TABLES = (outbox.SCHEMA, regions.SCHEMA)  # declared by the shared code that uses them
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


async def start(runtime: Runtime[Intake], app: FastAPI) -> Intake:
    """Intake owns the EVENTS stream; its relay publishes what the outbox holds."""
    assert runtime.pool is not None
    settings, js = runtime.settings, runtime.js
    await declare_stream(js, events_stream(replicas(js)))
    wakeup = asyncio.Event()
    relay = Relay("intake", runtime.pool, js, wakeup)
    intake = Intake(
        pool=runtime.pool,
        vault=Vault.from_settings(settings.intake),
        relay_wakeup=wakeup,
        backlog=lambda: relay.backlog,
        max_backlog=settings.intake.max_backlog,
    )
    runtime.background("relay", relay.run())
    importer = Importer(runtime.pool, intake, stale_s=settings.imports.stale_s)
    runtime.on_stop(importer.stop)  # running imports are marked interrupted
    app.state.intake, app.state.importer = intake, importer
    return intake


BLUEPRINT: Blueprint[Intake] = Blueprint(
    name="intake",
    description=DESCRIPTION,
    migrations=MIGRATIONS,
    shared_tables=SHARED_TABLES,
    start=start,
    operations=OPERATIONS,
    subscribe=lambda runtime: bus.subscribe(runtime.broker, lambda: runtime.service),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    app = build_app(BLUEPRINT, settings)
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
