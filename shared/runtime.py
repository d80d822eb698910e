"""One service bootstrap: every service starts, runs and stops the same way.

A service describes itself in a `Blueprint` (name, migrations and shared tables, the
consumer it runs if any, a `start` hook that builds its use cases); `build_app` turns that
into a FastAPI app whose lifespan opens the database, connects NATS, calls the hook, turns
on token revocation and rate limits, starts the consumer and its lag gauge, and on the way
out stops them in the order that loses nothing: the consumer's batch in hand commits and
is acked, background tasks stop, NATS drains, the pool closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg
from fastapi import FastAPI
from faststream.nats import NatsBroker
from nats.js import JetStreamContext

from shared import asyncapi
from shared.broker import jetstream, make_broker
from shared.clock import Clock, clock_from
from shared.consumer import Apply, EventConsumer, RunningConsumer
from shared.db import open_pool
from shared.examples import one_of_each
from shared.http import guard, service_app, stop_tasks
from shared.readiness import database_ok, nats_ok
from shared.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
LAG_INTERVAL_S = 2.0


@dataclass
class Runtime(Generic[T]):
    """What a running service holds; `service` is its use cases, once started."""

    settings: Settings
    broker: NatsBroker
    pool: asyncpg.Pool | None = None
    service: T | None = None
    consumer: RunningConsumer | None = None
    consumes: bool = False  # then readiness waits for the consumer to be bound
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stoppers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def js(self) -> JetStreamContext:
        return jetstream(self.broker)

    @property
    def clock(self) -> Clock:
        return clock_from(self.settings.testing.clock_file)

    def background(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` until the service stops."""
        self.tasks.append(asyncio.create_task(work, name=name))

    def bind_consumer(self, consumer: RunningConsumer) -> None:
        """A consumer the service started itself (a reporting shard's): readiness
        follows it."""
        self.consumer = consumer

    def on_stop(self, stop: Callable[[], Awaitable[None]]) -> None:
        """Call `stop` first when the service stops (before the consumer and NATS)."""
        self.stoppers.append(stop)

    async def readiness(self) -> dict[str, bool]:
        checks = {"database": await database_ok(self.pool), "nats": nats_ok(self.broker)}
        if self.consumes:
            checks["consuming"] = bool(self.consumer and self.consumer.alive)
        return checks


@dataclass(frozen=True)
class Blueprint(Generic[T]):
    """How one service is made: its database, its consumer (if any), its use cases."""

    name: str
    description: str
    migrations: Path
    shared_tables: tuple[str, ...]
    # Builds the use cases once the pool and NATS are up; may declare streams and start
    # background work (runtime.background); sets what the routes read on app.state.
    start: Callable[[Runtime[T], FastAPI], Awaitable[T]]
    consumer: EventConsumer | None = None
    apply: Apply | None = None
    operations: Sequence[asyncapi.Operation] = ()  # its NATS side, for the AsyncAPI document
    # Registers NATS subscribers (before the broker starts); they reach the use cases
    # through runtime.service.
    subscribe: Callable[[Runtime[T]], None] | None = None


def build_app(blueprint: Blueprint[T], settings: Settings | None = None) -> FastAPI:
    """The service's FastAPI app; its runtime is on app.state.runtime."""
    settings = settings or Settings.from_env(blueprint.name)
    runtime: Runtime[T] = Runtime(
        settings=settings, broker=make_broker(settings), consumes=blueprint.consumer is not None
    )
    if blueprint.subscribe is not None:
        blueprint.subscribe(runtime)
    document = asyncapi.document(
        blueprint.name,
        blueprint.description,
        settings.nats_url,
        blueprint.operations,
        one_of_each(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(blueprint, runtime, app):
            yield

    app = service_app(
        blueprint.name, lifespan, runtime.readiness, lambda: document, blueprint.description
    )
    app.state.runtime = runtime
    app.state.token_secrets = settings.token_secrets
    return app


@contextlib.asynccontextmanager
async def running(
    blueprint: Blueprint[T], runtime: Runtime[T], app: FastAPI
) -> AsyncIterator[None]:
    """Start the service, yield while it serves, stop it cleanly."""
    settings = runtime.settings
    runtime.pool = await open_pool(
        settings.database_url, blueprint.migrations, blueprint.shared_tables
    )
    try:
        await runtime.broker.connect()
        runtime.service = await blueprint.start(runtime, app)
        runtime.tasks.append(guard(app, runtime.js, settings.http))
        await runtime.broker.start()
        if blueprint.consumer is not None and blueprint.apply is not None:
            runtime.consumer = blueprint.consumer.start(
                runtime.broker, runtime.pool, blueprint.apply
            )
            runtime.background("lag", watch_lag(blueprint.consumer, runtime.broker))
        yield
    finally:
        for stop in runtime.stoppers:
            await stop()
        if runtime.consumer is not None:
            await runtime.consumer.stop()  # the batch in hand commits and is acked
        await stop_tasks(runtime.tasks)
        await runtime.broker.stop()  # no new NATS requests; in-flight ones finish
        await runtime.pool.close()


async def watch_lag(consumer: EventConsumer, broker: NatsBroker) -> None:
    """Keep the consumer's pending gauge (qianshou_consumer_pending) fresh."""
    while True:
        with contextlib.suppress(Exception):
            await consumer.pending(broker)
        await asyncio.sleep(LAG_INTERVAL_S)
