"""`qianshou reporting rebuild`: replay EVENTS into fresh projections beside the live ones,
then swap them in, in one transaction.

- Build: empty copies of the projection tables in schema `reporting_rebuild` (dropped and
  made again by every rebuild, so a rebuild killed half-way leaves nothing that matters),
  filled from the start of EVENTS through the consumer's own idempotent path. Summaries
  keep reading the live tables meanwhile, and the live consumer keeps applying to them.
- Swap: one transaction locks the live tables (processed_events first, as every consumer
  transaction starts with it), replays what reached the stream meanwhile, and replaces the
  live rows with the rebuilt ones. Readers wait for the swap, then see the new figures;
  they never see a half-built table. If anything fails, nothing has changed.
- An event that cannot be applied on a healthy database goes to DEADLETTER with its reason
  (as the consumer would park it) and the rebuild goes on. A database that cannot do the
  work (`shared.db.unavailable`) fails the rebuild instead: it changes nothing, says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.reporting import projections
from services.reporting.handlers import CONSUMER
from services.reporting.shard import Shard
from services.reporting.sharding import consumer_for, tokens_on_stream
from shared import deadletters, faults
from shared.broker import dead_letter_stream, declare_stream, replicas
from shared.consumer import EventConsumer, Poison, claim, decode
from shared.db import unavailable
from shared.events import Canonical
from shared.settings import ReportingSettings
from shared.subjects import EVENTS_STREAM, dead_letter

log = logging.getLogger(__name__)

WORK_SCHEMA = "reporting_rebuild"
# Reporting's tables that a rebuild leaves as they are; every other one is a projection
# (projections.PROJECTION_TABLES), made again from EVENTS. A table in neither would keep
# its rows while everything around it is rebuilt (tests/unit/test_rebuild_tables.py).
KEPT = ("schema_migrations",)
REBUILD_CONSUMER = f"{CONSUMER.durable}-rebuild"
# Held by a running rebuild for its whole session (released when it ends, even killed):
# two rebuilds would drop and fill the same work tables under each other.
REBUILD_LOCK = 0x7265_6275_696C_64  # "rebuild"
# Messages decoded between two turns of the event loop while a batch is applied.
DECODE_SLICE = 200
SWAP_ATTEMPTS = 5  # a database that fails over or times out during the swap: try again


class RebuildFailed(Exception):
    """The rebuild stopped; the live projections are as they were."""


async def rebuild(
    pool: asyncpg.Pool,
    nc: Client,
    batch: int = ReportingSettings.rebuild_batch,  # REPORTING_REBUILD_BATCH
    deadline_s: float = 3600.0,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """A region shard (REPORTING_REGIONS) replays what its own durable takes, its
    regions as found on EVENTS now."""
    started = time.perf_counter()
    js = nc.jetstream()
    consumer = CONSUMER
    if shard is not None and shard.sharded:
        consumer = consumer_for(shard, await tokens_on_stream(js, shard))
    tables = projections.PROJECTION_TABLES
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", REBUILD_LOCK):
            raise RebuildFailed("another rebuild is running; the live figures are unchanged")
        try:
            await _prepare(conn, tables)
            await conn.execute(f"SET search_path TO {WORK_SCHEMA}, public")
            replay = Replay(conn, js, batch, started + deadline_s, consumer)
            last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
            await replay.run(1, last)
            faults.point("reporting.rebuild.built")  # as if killed before the swap
            for attempt in range(1, SWAP_ATTEMPTS + 1):
                try:
                    up_to = await _swap(conn, js, replay, last, tables)
                    break
                except Exception as exc:
                    if not unavailable(exc) or attempt == SWAP_ATTEMPTS:
                        raise
                    log.warning("rebuild: swap attempt %d failed (%s); again", attempt, exc)
            await conn.execute("RESET search_path")
            await conn.execute(f"DROP SCHEMA IF EXISTS {WORK_SCHEMA} CASCADE")
        except Exception as exc:
            raise RebuildFailed(
                f"rebuild failed, the live figures are unchanged: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            with contextlib.suppress(asyncpg.PostgresError, OSError):  # gone with its session
                await conn.execute("SELECT pg_advisory_unlock($1)", REBUILD_LOCK)
    return {
        "replayed": replay.replayed,
        "dead_lettered": replay.parked,
        "undecodable": replay.undecodable,
        "up_to_stream_seq": up_to,
        "seconds": round(time.perf_counter() - started, 3),
    }


async def _prepare(conn: asyncpg.Connection, tables: tuple[str, ...]) -> None:
    """Empty copies of the live tables (columns, defaults, constraints, indexes). Unlogged:
    they are thrown away if the rebuild or PostgreSQL stops before the swap, so writing
    them to the WAL as they fill would buy nothing; the swap's copy into the live tables
    is logged as any write."""
    await conn.execute(f"DROP SCHEMA IF EXISTS {WORK_SCHEMA} CASCADE")
    await conn.execute(f"CREATE SCHEMA {WORK_SCHEMA}")
    for table in tables:
        await conn.execute(
            f"CREATE UNLOGGED TABLE {WORK_SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)"
        )


async def _swap(
    conn: asyncpg.Connection,
    js: JetStreamContext,
    replay: Replay,
    built_to: int,
    tables: tuple[str, ...],
) -> int:
    """Catch up with what the live consumer applied meanwhile, then replace the live rows;
    all in one transaction. Returns the stream sequence the new projections cover."""
    ordered = ("processed_events", *(t for t in tables if t != "processed_events"))
    async with conn.transaction():
        for table in ordered:
            await conn.execute(f"LOCK TABLE public.{table} IN ACCESS EXCLUSIVE MODE")
        # The live consumer is held now: what it applied is on the stream up to `end`.
        end = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        if end > built_to:
            await replay.run(built_to + 1, end)
        await conn.execute("TRUNCATE " + ", ".join(f"public.{t}" for t in ordered))
        for table in ordered:
            await conn.execute(f"INSERT INTO public.{table} SELECT * FROM {WORK_SCHEMA}.{table}")
        faults.point("reporting.rebuild.swapping")  # as if killed before the commit
    return end


@dataclass
class Batch:
    """Messages fetched together: those that decoded, how many there were, and whether
    the replay ends with them."""

    held: list[tuple[Msg, Canonical]]
    size: int
    last: bool


class Replay:
    """Applies EVENTS from one sequence to another into the work schema."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        js: JetStreamContext,
        batch: int,
        deadline: float,
        consumer: EventConsumer = CONSUMER,
    ) -> None:
        self.conn, self.js, self.batch, self.deadline = conn, js, batch, deadline
        self.consumer = consumer
        self.replayed = self.parked = self.undecodable = 0

    async def run(self, first: int, last: int) -> None:
        if last < first:
            return
        # An ephemeral consumer of its own: the service's durable one is left as it is.
        sub = await self.js.pull_subscribe(
            "",
            stream=EVENTS_STREAM,
            config=ConsumerConfig(
                filter_subjects=self.consumer.config().filter_subjects,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=first,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=60.0,
                max_waiting=1,
            ),
        )
        # The next batch is fetched and decoded while this one is applied: decoding is
        # the rebuild's own CPU and PostgreSQL's work is another process's, so the two
        # overlap instead of taking turns. Batches are still applied one at a time, in
        # stream order.
        ahead: asyncio.Task[Batch] | None = asyncio.create_task(self._read(sub, last))
        try:
            while ahead is not None:
                batch = await ahead
                ahead = None if batch.last else asyncio.create_task(self._read(sub, last))
                if batch.size:
                    await self._apply(batch)
                    faults.point("reporting.rebuild.replaying")  # killed half-way through
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ahead
            await sub.unsubscribe()

    async def _read(self, sub: JetStreamContext.PullSubscription, last: int) -> Batch:
        """The next messages up to stream sequence `last`, decoded; `last` is set on the
        batch that reaches it or finds nothing more that reporting consumes."""
        while True:
            if time.perf_counter() > self.deadline:
                raise TimeoutError(f"did not reach stream sequence {last} in time")
            try:
                msgs = await sub.fetch(self.batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                if (await sub.consumer_info()).num_pending == 0:
                    return Batch([], 0, last=True)
                continue  # a slow server: keep going, never stop half-way
            if msgs and msgs[-1].metadata.sequence.stream > last:  # in stream order
                msgs = [m for m in msgs if m.metadata.sequence.stream <= last]
            held: list[tuple[Msg, Canonical]] = []
            for i, m in enumerate(msgs):
                if i % DECODE_SLICE == DECODE_SLICE - 1:
                    await asyncio.sleep(0)  # let the batch being applied send its next statement
                try:
                    held.append((m, decode(m.data)))
                except Poison:
                    self.undecodable += 1  # the consumer parked it on DEADLETTER already
            done = not msgs or msgs[-1].metadata.sequence.stream >= last
            return Batch(held, len(msgs), last=done)

    async def _apply(self, batch: Batch) -> None:
        held = batch.held
        self.replayed += batch.size
        try:
            await self._apply_events([e for _, e in held])
            return
        except Exception as exc:
            if unavailable(exc):
                raise
            log.warning("rebuild: batch failed (%s); one by one", exc)
        for m, event in held:
            try:
                await self._apply_events([event])
            except Exception as exc:
                if unavailable(exc):
                    raise
                await self._park(m, f"{type(exc).__name__}: {exc}")

    async def _apply_events(self, events: list[Canonical]) -> None:
        async with self.conn.transaction():  # a savepoint inside the swap's transaction
            await projections.apply(
                self.conn, await claim(self.conn, self.consumer.durable, events)
            )

    async def _park(self, m: Msg, reason: str) -> None:
        """As the consumer parks an event: same headers, same message id (so an event the
        live consumer parked a moment ago is not parked twice)."""
        if not self.parked:
            # made by the consumer, if it ran
            await declare_stream(self.js, dead_letter_stream(replicas(self.js)))
        seq = m.metadata.sequence.stream
        headers = deadletters.headers(reason, CONSUMER.service, REBUILD_CONSUMER, seq, m.subject)
        headers["Nats-Msg-Id"] = f"{self.consumer.durable}:{seq}"
        event_type = m.subject.rsplit(".", 1)[-1]
        await self.js.publish(
            dead_letter(CONSUMER.service, event_type), m.data, headers=headers, timeout=5
        )
        self.parked += 1
        log.error("rebuild: event at stream seq %s dead-lettered: %s", seq, reason)
