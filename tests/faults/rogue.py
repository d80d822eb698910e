"""A publisher with direct NATS access, doing what intake never would: poison on EVENTS,
and an event repeated after the stream's dedup window (as a relay would after a long
outage: the same canonical body under a new Nats-Msg-Id, which the window cannot catch)."""

from __future__ import annotations

import asyncio
import random
import time

import orjson
from nats.js import JetStreamContext

from services.reporting.facts import CONSUMED_TYPES as REPORTING_TYPES
from services.scheduling.handlers import CONSUMED_TYPES as SCHEDULING_TYPES
from tests.faults.ledger import Ledger, Poison, key_of
from tests.faults.workload import AGENCIES

POISON_TYPES = ("visit-logged", "client-registered", "activity-held", "worker-registered")
POISON_BODIES = (
    b"\x00\xff not json at all",
    b'{"event_id": "half-an-event", "type": "visit-logged"}',
    b"[1, 2, 3]",
)
PUBLISH_DEADLINE_S = 30.0


def consumers_of(event_type: str) -> tuple[str, ...]:
    return tuple(
        d
        for d, types in (("reporting", REPORTING_TYPES), ("scheduling", SCHEDULING_TYPES))
        if event_type in types
    )


async def publish(js: JetStreamContext, subject: str, body: bytes, msg_id: str) -> int:
    """Publish and wait for the PubAck, retrying while NATS restarts; the stream sequence."""
    deadline = time.monotonic() + PUBLISH_DEADLINE_S
    while True:
        try:
            ack = await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id}, timeout=2.0)
            return int(ack.seq)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def poison_during(
    js: JetStreamContext, ledger: Ledger, rng: random.Random, count: int, span_s: float
) -> None:
    """`count` undecodable messages at random moments of the span."""
    start = time.monotonic()
    for i, at in enumerate(sorted(rng.uniform(0.05, 0.95) * span_s for _ in range(count))):
        wait = start + at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # the schedule, not synchronisation
        agency = rng.choice(AGENCIES)
        kind = POISON_TYPES[i % len(POISON_TYPES)]
        subject = f"events.{agency.region_code}.{agency.agency_id}.{kind}"
        seq = await publish(js, subject, POISON_BODIES[i % len(POISON_BODIES)], f"poison-{i}")
        ledger.poison.append(Poison(subject, seq, consumers_of(kind)))


async def repeat_after_window(
    js: JetStreamContext, ledger: Ledger, rng: random.Random, count: int
) -> None:
    """Re-publish `count` acknowledged events' canonical messages from EVENTS under new
    message ids: the repeat reaches consumers, which must count it once."""
    acknowledged = set(ledger.keys("acknowledged"))
    last = (await js.stream_info("EVENTS")).state.last_seq
    tries = 0
    while len(ledger.stream_repeats) < count and tries < count * 20:
        tries += 1
        msg = await js.get_msg("EVENTS", rng.randint(1, last))
        try:
            body = orjson.loads(msg.data or b"")
            key = key_of(body)
        except Exception:
            continue  # poison
        if key not in acknowledged or key in ledger.stream_repeats:
            continue
        await publish(js, msg.subject or "", msg.data or b"", f"{key[0]}:{key[1]}:after-window")
        ledger.stream_repeats.append(key)
