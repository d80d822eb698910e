"""Reporting wiring: database, NATS consumer into the fact tables, HTTP routes."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI

from services.reporting import dashboard, projections
from services.reporting.approvals.http import router as approvals_router
from services.reporting.examples import JILIN_TO_2020
from services.reporting.facts import CONSUMED_TYPES
from services.reporting.handlers import CONSUMER
from services.reporting.http import router
from services.reporting.shard import Shard
from services.reporting.sharding import ShardConsumer
from services.reporting.usecases import Reports
from shared import asyncapi, consumer, regions
from shared.broker import declare_stream, replicas, reports_stream
from shared.openapi import add_examples
from shared.runtime import Blueprint, Runtime, build_app
from shared.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
SHARED_TABLES = (consumer.SCHEMA, regions.SCHEMA)  # declared by the shared code that uses them
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
    *asyncapi.events(
        "send",
        ("period-approved",),
        "A province or admin approved a scope's figures for a period (POST /v1/approvals, "
        "SPEC 3.9): sender reporting, event id = approval_id, published with its PubAck "
        "awaited; reporting reads it back into its approvals.",
    ),
    *asyncapi.dead_letters("reporting", CONSUMED_TYPES),
]


async def start(runtime: Runtime[Reports], app: FastAPI) -> Reports:
    """Reporting owns the REPORTS stream that published reports go to."""
    assert runtime.pool is not None
    js = runtime.js
    await declare_stream(js, reports_stream(replicas(js)))
    shard = Shard(runtime.settings.reporting.regions, runtime.settings.reporting.shards)
    reports = Reports(pool=runtime.pool, js=js, clock=runtime.clock, shard=shard)
    app.state.reports = reports
    return reports


async def start_shard(runtime: Runtime[Reports], app: FastAPI) -> Reports:
    """A region shard (REPORTING_REGIONS) runs its own durable consumer, whose filters
    follow its regions' subjects (services/reporting/sharding.py), instead of the
    blueprint's."""
    reports = await start(runtime, app)
    assert runtime.pool is not None
    sharded = ShardConsumer(reports.shard, on_running=runtime.bind_consumer)
    sharded.start(runtime.broker, runtime.pool)
    runtime.consumes = True  # ready once its durable is bound
    runtime.on_stop(sharded.stop)
    runtime.background("lag", sharded.watch_lag(runtime.broker))
    return reports


EXAMPLES = {
    ("get", "/v1/reports/summary", "200"): {
        "jilin": {
            "summary": "Jilin (22) to the end of 2020: the reference programme",
            "value": JILIN_TO_2020,
        }
    }
}

BLUEPRINT: Blueprint[Reports] = Blueprint(
    name="reporting",
    description=DESCRIPTION,
    migrations=MIGRATIONS,
    shared_tables=SHARED_TABLES,
    start=start,
    consumer=CONSUMER,
    apply=projections.apply,
    operations=OPERATIONS,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env("reporting")
    blueprint = BLUEPRINT
    if settings.reporting.regions:
        blueprint = replace(BLUEPRINT, consumer=None, start=start_shard)
    app = build_app(blueprint, settings)
    app.include_router(router)
    app.include_router(approvals_router)
    dashboard.mount(app)
    add_examples(app, EXAMPLES)
    return app
