"""`qianshou reporting rebuild`: drop the projections and replay EVENTS from the start.

Safe while the service runs: the reset is one TRUNCATE (it waits for, or blocks, the
consumer's transaction), and the replay goes through the same idempotent path as the
consumer, so an event applied by either is applied once.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.reporting import projections
from services.reporting.consumer import CONSUMER
from shared.consumer import Poison, claim, decode
from shared.subjects import EVENTS_STREAM, events_of_type


async def rebuild(
    pool: asyncpg.Pool, nc: Client, batch: int = 2000, deadline_s: float = 3600.0
) -> dict[str, Any]:
    started = time.perf_counter()
    js = nc.jetstream()
    async with pool.acquire() as conn:
        await projections.reset(conn)
    # Read after the reset: whatever the live consumer applied before it is wiped and sits
    # at or below `last`, so the replay covers it; whatever it applies after is recorded
    # as processed, so the replay skips it.
    last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
    # An ephemeral consumer of its own: the service's durable one is left as it is.
    sub = await js.pull_subscribe(
        "",
        stream=EVENTS_STREAM,
        config=ConsumerConfig(
            filter_subjects=[events_of_type(t) for t in CONSUMER.event_types],
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
            max_waiting=1,
        ),
    )
    replayed = 0
    try:
        while time.perf_counter() - started < deadline_s:
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                if (await sub.consumer_info()).num_pending == 0:
                    break  # nothing left that reporting consumes
                continue  # a slow server: keep going, never stop half-way
            events = []
            for m in msgs:
                try:
                    events.append(decode(m.data))
                except Poison:
                    pass  # undecodable: the consumer parked it on DEADLETTER already
            async with pool.acquire() as conn, conn.transaction():
                await projections.apply(conn, await claim(conn, CONSUMER.durable, events))
            replayed += len(msgs)
            if msgs[-1].metadata.sequence.stream >= last:
                break
        else:
            raise TimeoutError(f"rebuild did not reach stream sequence {last} in {deadline_s}s")
    finally:
        await sub.unsubscribe()
    return {
        "replayed": replayed,
        "up_to_stream_seq": last,
        "seconds": round(time.perf_counter() - started, 3),
    }
