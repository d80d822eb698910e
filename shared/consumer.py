"""Consuming EVENTS into a service's own database, exactly once in effect.

A durable pull consumer hands over batches. Each batch is applied in one transaction that
also records every event's key in `processed_events`, so a redelivered event changes
nothing; messages are acked only after the commit. If a batch fails, its events are
retried one by one, so one bad event cannot hold back the others: it is nak'ed with a
delay, and after `max_deliver` attempts it goes to the DEADLETTER stream with the reason,
the service and its original stream sequence, and is terminated.

The consumer's configuration is created or updated at every start (binding to an
existing durable would keep its old configuration).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy as ServerAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from shared import deadletters, faults, publishing
from shared.broker import dead_letter_stream, declare_stream, jetstream, replicas, stream_exists
from shared.db import unavailable
from shared.events import Canonical, canonical_events, upcast
from shared.settings import for_tests
from shared.subjects import EVENTS_STREAM, dead_letter, events_of_type

log = logging.getLogger(__name__)

APPLIED = Counter(
    "qianshou_events_applied_total", "Events applied to a service's store", ["consumer", "type"]
)
SKIPPED = Counter(
    "qianshou_events_redelivered_total",
    "Events delivered again and skipped (already applied)",
    ["consumer"],
)
DEAD = Counter("qianshou_events_dead_lettered_total", "Events sent to DEADLETTER", ["consumer"])
WAITS = Counter(
    "qianshou_consumer_database_waits_total",
    "Batches held (not dead-lettered) because the database could not do the work now",
    ["consumer"],
)
LAG = Gauge(
    "qianshou_consumer_pending",
    "Messages on EVENTS not yet delivered to the consumer",
    ["consumer"],
)
LATENCY = Histogram(
    "qianshou_projection_latency_seconds",
    "From intake recording an event to its effect here",
    ["consumer"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600),
)

# The table that makes consumption idempotent, declared here only: every consuming service
# asks shared/db.py to create it (before its own migrations).
SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text NOT NULL,
    agency_id    text NOT NULL,
    event_id     text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, agency_id, event_id)
);
"""

Apply = Callable[[asyncpg.Connection, list[Canonical]], Awaitable[None]]


class Poison(Exception):
    """An event that can never be applied (it does not even decode)."""


@dataclass(frozen=True)
class EventConsumer:
    """Where a service reads EVENTS from, and how hard it tries before giving up."""

    service: str
    durable: str
    event_types: Sequence[str]
    batch_size: int = 500
    # Redelivery after an unacked delivery (a crashed process) waits backoff[n] seconds;
    # the first is the ack wait. A batch never takes near a minute to commit.
    backoff_s: tuple[float, ...] = (60.0, 120.0, 300.0, 600.0)
    max_deliver: int = 5
    retry_delay_s: float = 2.0  # a nak'ed (failed) event comes back after this, times attempts
    max_ack_pending: int = 10_000
    # Filter subjects other than "these types from every region" (a reporting shard's).
    filters: tuple[str, ...] = ()

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            filter_subjects=list(self.filters) or [events_of_type(t) for t in self.event_types],
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=ServerAckPolicy.EXPLICIT,
            ack_wait=self.backoff_s[0],
            backoff=list(self.backoff_s),
            # Unlimited on the server: the consumer itself counts attempts and dead-letters
            # at max_deliver, so a crash during the last attempt cannot strand a message.
            max_deliver=-1,
            max_ack_pending=self.max_ack_pending,
        )

    async def declare(self, broker: NatsBroker) -> None:
        """Create or update the durable consumer (and the dead-letter stream)."""
        js = jetstream(broker)
        await declare_stream(js, dead_letter_stream(replicas(js)))
        await js.add_consumer(EVENTS_STREAM, self.config())

    async def pending(self, broker: NatsBroker) -> int:
        """Messages not yet delivered plus those delivered and not yet acked."""
        info = await jetstream(broker).consumer_info(EVENTS_STREAM, self.durable)
        pending = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        LAG.labels(self.durable).set(pending)
        return pending

    async def run(
        self, broker: NatsBroker, pool: asyncpg.Pool, apply: Apply, stopping: asyncio.Event
    ) -> None:
        """Fetch and apply batches until `stopping` is set; the batch in hand is finished.

        nats-py's fetch returns as soon as some messages are there (up to a batch), so a
        quiet stream costs no latency and a busy one fills whole batches. (FastStream's
        batch subscriber was tried first: when the fetch deadline passes it drops the
        partial batch it holds, and those events then wait out ack_wait.)
        """
        js = jetstream(broker)
        sub = await js.pull_subscribe_bind(self.durable, stream=EVENTS_STREAM)
        try:
            while not stopping.is_set():
                try:
                    messages = await sub.fetch(self.batch_size, timeout=1.0)
                except (NatsTimeoutError, TimeoutError):
                    continue
                except Exception as exc:  # NATS away or restarting: the client reconnects
                    log.warning(
                        "%s: fetch failed (%s); retrying", self.durable, publishing.describe(exc)
                    )
                    await asyncio.sleep(0.5)
                    continue
                try:
                    await self.handle(broker, pool, messages, apply)
                except Exception as exc:  # e.g. NATS gone while acking or dead-lettering
                    # Whatever was not acked comes back after the ack wait; keep consuming.
                    log.exception("%s: batch handling failed (%s); going on", self.durable, exc)
                    await asyncio.sleep(0.5)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def start(self, broker: NatsBroker, pool: asyncpg.Pool, apply: Apply) -> RunningConsumer:
        """Consume in a background task, once EVENTS exists (intake declares it, and may
        start later); stop it with `await running.stop()`."""
        running = RunningConsumer(stopping=asyncio.Event())
        running.task = asyncio.create_task(
            self._serve(broker, pool, apply, running), name=self.durable
        )
        return running

    async def _serve(
        self, broker: NatsBroker, pool: asyncpg.Pool, apply: Apply, running: RunningConsumer
    ) -> None:
        pause = 0.2
        while not running.stopping.is_set():
            try:
                if await stream_exists(jetstream(broker), EVENTS_STREAM):
                    await self.declare(broker)
                    break
                log.info(
                    "%s: waiting for stream %s (declared by intake)", self.durable, EVENTS_STREAM
                )
            except Exception as exc:
                log.warning("%s: cannot consume EVENTS yet (%s)", self.durable, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(running.stopping.wait(), pause)
            pause = min(pause * 2, 5.0)
        else:
            return
        running.consuming = True
        log.info("consuming EVENTS as %s", self.durable)
        await self.run(broker, pool, apply, running.stopping)

    async def handle(
        self, broker: NatsBroker, pool: asyncpg.Pool, messages: list[Msg], apply: Apply
    ) -> None:
        """Apply a batch in one transaction; if the events are at fault, one by one."""
        decoded: list[tuple[Msg, Canonical]] = []
        for m in messages:
            try:
                decoded.append((m, decode(m.data)))
            except Poison as exc:
                await self._dead_letter(broker, m, str(exc))
        try:
            await self._apply_while_unavailable(pool, decoded, apply)
        except Exception as exc:
            log.warning(
                "%s: batch of %d failed (%s); retrying one by one", self.durable, len(decoded), exc
            )
            for m, event in decoded:
                await self._one(broker, pool, m, event, apply)
            return
        faults.point(f"{self.durable}.after_commit")  # applied, not yet acked: redelivered
        for m, _ in decoded:
            await m.ack()

    async def _one(
        self, broker: NatsBroker, pool: asyncpg.Pool, m: Msg, event: Canonical, apply: Apply
    ) -> None:
        try:
            await self._apply_while_unavailable(pool, [(m, event)], apply)
        except Exception as exc:
            if m.metadata.num_delivered >= self.max_deliver:
                await self._dead_letter(broker, m, f"{type(exc).__name__}: {exc}")
            else:
                await m.nak(delay=self.retry_delay_s * m.metadata.num_delivered)
            return
        await m.ack()

    async def _apply_while_unavailable(
        self, pool: asyncpg.Pool, held: list[tuple[Msg, Canonical]], apply: Apply
    ) -> None:
        """Apply; while the database cannot do the work (away, restarting, read-only after a
        failover, full, out of memory, timed out: see `shared.db.unavailable`), which is not
        the events' fault, keep the messages ours (in_progress) and try again, rather than
        let redeliveries count them towards the dead-letter stream. Other errors propagate:
        only an event that fails on a healthy database is retried one by one and parked."""
        pause = 0.5
        while True:
            try:
                await self._apply_batch(pool, [e for _, e in held], apply)
                return
            except Exception as exc:
                if not unavailable(exc):
                    raise
                WAITS.labels(self.durable).inc()
                log.warning(
                    "%s: database unavailable (%s); retrying in %.1fs", self.durable, exc, pause
                )
            for m, _ in held:
                with contextlib.suppress(Exception):
                    await m.in_progress()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def _apply_batch(self, pool: asyncpg.Pool, events: list[Canonical], apply: Apply) -> None:
        if not events:
            return
        async with pool.acquire() as conn, conn.transaction():
            fresh = await claim(conn, self.durable, events)
            if len(fresh) < len(events):
                SKIPPED.labels(self.durable).inc(len(events) - len(fresh))
            await apply(conn, fresh)
        for event in fresh:
            APPLIED.labels(self.durable, event.type).inc()
            LATENCY.labels(self.durable).observe(
                max(0.0, (datetime.now(UTC) - event.recorded_at).total_seconds())
            )

    async def _dead_letter(self, broker: NatsBroker, m: Msg, reason: str) -> None:
        """Park the message on DEADLETTER (waiting for the PubAck), then stop redelivery."""
        meta = m.metadata
        event_type = m.subject.rsplit(".", 1)[-1]
        await publishing.publish(
            jetstream(broker),
            dead_letter(self.service, event_type),
            m.data,
            f"{self.durable}:{meta.sequence.stream}",
            headers=deadletters.headers(
                reason, self.service, self.durable, meta.sequence.stream, m.subject
            ),
            within_s=30.0,  # then the message is left unacked and comes back
            what="dead letter",
        )
        await m.term()
        DEAD.labels(self.durable).inc()
        log.error(
            "%s: event at stream seq %s dead-lettered: %s",
            self.durable,
            meta.sequence.stream,
            reason,
        )


@dataclass
class RunningConsumer:
    stopping: asyncio.Event
    task: asyncio.Task[None] = field(init=False)
    consuming: bool = False

    @property
    def alive(self) -> bool:
        """Bound to its durable consumer and fetching."""
        return self.consuming and not self.task.done()

    async def stop(self, timeout_s: float = 15.0) -> None:
        """Stop fetching, let the batch in hand commit and ack, then return."""
        self.stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout_s)
        except TimeoutError:
            self.task.cancel()  # unacked messages are redelivered after ack_wait
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def decode(data: bytes) -> Canonical:
    """A canonical event from the stream, brought to the current schema version."""
    try:
        raw: Any = orjson.loads(data)
        return canonical_events.validate_python(upcast(raw) if isinstance(raw, dict) else raw)
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise Poison(f"undecodable event: {exc}"[:1000]) from exc


# For the fault suite's negative control only: with it set, redeliveries are applied again,
# and the fault test must then see double counts.
_UNSAFE_NO_IDEMPOTENCY = for_tests().unsafe_no_idempotency


async def claim(
    conn: asyncpg.Connection, consumer: str, events: list[Canonical]
) -> list[Canonical]:
    """Record the events as processed by `consumer`; return those not processed before."""
    rows = await conn.fetch(
        "INSERT INTO processed_events (consumer, agency_id, event_id)"
        " SELECT $1, a, e FROM unnest($2::text[], $3::text[]) AS x(a, e)"
        " ON CONFLICT DO NOTHING RETURNING agency_id, event_id",
        consumer,
        [e.agency_id for e in events],
        [e.event_id for e in events],
    )
    if _UNSAFE_NO_IDEMPOTENCY:
        return events
    new = {(r["agency_id"], r["event_id"]) for r in rows}
    # The same event twice in one batch: keep its first occurrence only.
    out, seen = [], set()
    for e in events:
        key = (e.agency_id, e.event_id)
        if key in new and key not in seen:
            seen.add(key)
            out.append(e)
    return out
