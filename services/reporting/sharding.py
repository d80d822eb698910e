"""A reporting shard's consumer on EVENTS (services/reporting/shard.py says what it takes):
one durable whose filter subjects grow as region tokens of the shard appear on the stream.

At start the durable is created (or updated) with every token of the shard found on
EVENTS; a token it did not have before, and every token that appears later (checked every
few seconds), is added to the durable and then caught up from the start of the stream by
an ephemeral consumer, because the durable has already moved past that token's earlier
messages. Both apply through the same idempotent path (processed_events under the
shard's durable name), so an event seen by both counts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from faststream.nats import NatsBroker
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from services.reporting import projections
from services.reporting.facts import CONSUMED_TYPES
from services.reporting.shard import REGISTRATIONS, Shard, region_tokens
from shared.broker import jetstream, stream_exists
from shared.consumer import EventConsumer, Poison, RunningConsumer, claim, decode
from shared.subjects import EVENTS_STREAM

log = logging.getLogger(__name__)

FOLLOW_EVERY_S = 2.0


def consumer_for(shard: Shard, tokens: set[str] | None = None) -> EventConsumer:
    """The shard's durable consumer over `tokens` (the unsharded one: every region)."""
    return EventConsumer(
        service="reporting",
        durable=shard.durable,
        event_types=CONSUMED_TYPES,
        filters=tuple(shard.filter_subjects(tokens or set(), CONSUMED_TYPES))
        if shard.sharded
        else (),
    )


async def tokens_on_stream(js: JetStreamContext, shard: Shard) -> set[str]:
    """The shard's region tokens that EVENTS holds registrations under."""
    info = await js.stream_info(EVENTS_STREAM, subjects_filter=REGISTRATIONS)
    return shard.tokens(region_tokens((info.state.subjects or {}).keys()))


async def tokens_of_durable(js: JetStreamContext, shard: Shard) -> set[str] | None:
    """The tokens the existing durable already filters on (None: no durable yet)."""
    try:
        info = await js.consumer_info(EVENTS_STREAM, shard.durable)
    except NotFoundError:
        return None
    config = info.config
    subjects = list(config.filter_subjects or []) + (
        [config.filter_subject] if config.filter_subject else []
    )
    return shard.tokens(region_tokens(subjects))


async def catch_up(
    js: JetStreamContext, pool: asyncpg.Pool, shard: Shard, tokens: set[str], batch: int = 1000
) -> int:
    """Apply every event under `tokens` from the start of EVENTS (idempotently)."""
    if not tokens:
        return 0
    subjects = [
        s for s in shard.filter_subjects(tokens, CONSUMED_TYPES) if s.split(".")[1] in tokens
    ]
    sub = await js.pull_subscribe(
        "",
        stream=EVENTS_STREAM,
        config=ConsumerConfig(
            filter_subjects=subjects,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
            max_waiting=1,
        ),
    )
    applied = 0
    try:
        while True:
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                if (await sub.consumer_info()).num_pending == 0:
                    break
                continue
            events = []
            for m in msgs:
                with contextlib.suppress(Poison):  # undecodable: nothing to apply
                    events.append(decode(m.data))
            async with pool.acquire() as conn, conn.transaction():
                fresh = await claim(conn, shard.durable, events)
                await projections.apply(conn, fresh)
            applied += len(fresh)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    log.info("%s: caught up regions %s (%d events)", shard.durable, sorted(tokens), applied)
    return applied


@dataclass
class ShardConsumer:
    """Starts a shard's durable consumer and keeps its filters in step with EVENTS."""

    shard: Shard
    on_running: Callable[[RunningConsumer], None] | None = None  # told once it consumes
    consumer: EventConsumer | None = None
    running: RunningConsumer | None = None
    tokens: set[str] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def alive(self) -> bool:
        return self.running is not None and self.running.alive

    def start(self, broker: NatsBroker, pool: asyncpg.Pool) -> ShardConsumer:
        self._task = asyncio.create_task(self._serve(broker, pool), name=self.shard.durable)
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self.running is not None:
            await self.running.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def pending(self, broker: NatsBroker) -> int:
        return await self.consumer.pending(broker) if self.consumer else 0

    async def watch_lag(self, broker: NatsBroker) -> None:
        """Keep the pending gauge (qianshou_consumer_pending) fresh."""
        while True:
            with contextlib.suppress(Exception):
                await self.pending(broker)
            await asyncio.sleep(FOLLOW_EVERY_S)

    async def _serve(self, broker: NatsBroker, pool: asyncpg.Pool) -> None:
        js = jetstream(broker)
        pause = 0.2
        while not self._stopping.is_set():  # EVENTS is declared by intake
            try:
                if await stream_exists(js, EVENTS_STREAM):
                    break
            except Exception as exc:
                log.warning("%s: cannot see EVENTS yet (%s)", self.shard.durable, exc)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        had = await tokens_of_durable(js, self.shard)
        found = await tokens_on_stream(js, self.shard)
        self.tokens = found | (had or set())
        self.consumer = consumer_for(self.shard, self.tokens)
        await self.consumer.declare(broker)
        if had is not None:  # the durable is past the earlier messages of new tokens
            await catch_up(js, pool, self.shard, found - had)
        self.running = self.consumer.start(broker, pool, projections.apply)
        if self.on_running is not None:
            self.on_running(self.running)
        while not self._stopping.is_set():
            await asyncio.sleep(FOLLOW_EVERY_S)
            try:
                await self._follow(broker, js, pool)
            except Exception as exc:  # NATS away or an election: the next round retries
                log.warning("%s: could not follow new regions (%s)", self.shard.durable, exc)

    async def _follow(self, broker: NatsBroker, js: JetStreamContext, pool: asyncpg.Pool) -> None:
        new = await tokens_on_stream(js, self.shard) - self.tokens
        if not new:
            return
        consumer = consumer_for(self.shard, self.tokens | new)
        await js.add_consumer(EVENTS_STREAM, consumer.config())  # the filters first ...
        log.info("%s: now consuming regions %s too", self.shard.durable, sorted(new))
        await catch_up(js, pool, self.shard, new)  # ... then what the durable passed by
        self.tokens |= new
        self.consumer = consumer


def describe(shard: Shard) -> dict[str, Any]:
    return {"regions": list(shard.regions), "durable": shard.durable}
