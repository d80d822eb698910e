"""The ceilings: what plain nats-py and asyncpg reach on this machine with the same payloads.

- publish: JetStream pipelined publish (publish_async, Nats-Msg-Id) into a stream of its own;
- pipeline: the same publish from another process while this one pulls batches of 500,
  validates each event against the contract (as reporting does), COPYs the batch in one
  transaction and acks after the commit. Timed from the first publish to the last ack.

Both run on the benchmark's own NATS server (same sync_interval) and PostgreSQL, before the
services start, on streams and a database the services never see.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

import asyncpg
import nats
import orjson
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from shared.events import canonical_events

Message = tuple[str, str, bytes]  # subject, Nats-Msg-Id, body
BATCH = 500


def _stream(name: str, subjects: list[str]) -> StreamConfig:
    """Like EVENTS: file storage, two-minute duplicate window, one replica."""
    return StreamConfig(
        name=name, subjects=subjects, storage=StorageType.FILE, duplicate_window=120.0
    )


async def _publish_all(js: Any, prefix: str, messages: list[Message]) -> None:
    for subject, msg_id, body in messages:
        await js.publish_async(f"{prefix}.{subject}", body, headers={"Nats-Msg-Id": msg_id})
    await js.publish_async_completed()


async def publish_ceiling(nats_url: str, messages: list[Message]) -> dict[str, Any]:
    """Pipelined JetStream publish alone: messages per second until the last PubAck."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream(publish_async_max_pending=4000)
    await js.add_stream(_stream("RAWPUB", ["rawpub.>"]))
    try:
        started = time.perf_counter()
        await _publish_all(js, "rawpub", messages)
        seconds = time.perf_counter() - started
        stored = (await js.stream_info("RAWPUB")).state.messages
    finally:
        await js.delete_stream("RAWPUB")
        await nc.close()
    return {"messages": stored, "seconds": round(seconds, 3), "msgs_per_s": round(stored / seconds)}


def _publisher(nats_url: str, messages: list[Message], started: Any) -> None:
    """Child process: publish everything, noting the wall time of the first publish."""

    async def main() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream(publish_async_max_pending=4000)
        started.value = time.time()
        await _publish_all(js, "rawpipe", messages)
        await nc.close()

    asyncio.run(main())


async def _consume(nats_url: str, database_url: str, expected: int) -> tuple[int, float]:
    """Fetch, validate, COPY, commit, ack until `expected` events are in; the last ack's time."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    conn = await asyncpg.connect(database_url)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS raw_events (agency_id text, event_id text, type text,"
        " region_code text, occurred_at timestamptz, recorded_at timestamptz)"
    )
    sub = await js.pull_subscribe(
        "rawpipe.>",
        durable="raw",
        stream="RAWPIPE",
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=10_000
        ),
    )
    done, last = 0, time.time()
    try:
        while done < expected:
            try:
                msgs = await sub.fetch(BATCH, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                continue
            events = [canonical_events.validate_python(orjson.loads(m.data)) for m in msgs]
            rows = [
                (e.agency_id, e.event_id, e.type, e.region_code, e.occurred_at, e.recorded_at)
                for e in events
            ]
            async with conn.transaction():
                await conn.copy_records_to_table("raw_events", records=rows)
            for m in msgs:
                await m.ack()
            done += len(msgs)
            last = time.time()
        await nc.flush()
    finally:
        await conn.close()
        await nc.close()
    return done, last


async def pipeline_ceiling(
    nats_url: str, database_url: str, messages: list[Message]
) -> dict[str, Any]:
    """Publish (another process) → fetch 500 → validate → COPY → ack: events per second."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(_stream("RAWPIPE", ["rawpipe.>"]))
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Value("d", 0.0)
    child = ctx.Process(target=_publisher, args=(nats_url, messages, started))
    try:
        consuming = asyncio.create_task(_consume(nats_url, database_url, len(messages)))
        child.start()
        done, last = await consuming
        await asyncio.to_thread(child.join)
    finally:
        await js.delete_stream("RAWPIPE")
        await nc.close()
    seconds = last - started.value
    return {
        "events": done,
        "batch": BATCH,
        "seconds": round(seconds, 3),
        "events_per_s": round(done / seconds),
    }
