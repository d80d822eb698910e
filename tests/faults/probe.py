"""A publisher kept busy across each NATS kill, to show what a retry does to the stream.

Around every kill of the cluster run it publishes numbered messages on
`events.probe.chaos.election-probe` (no consumer's filter takes that type) in pipelined
windows, as the outbox relays do: a window that fails (no PubAck: an election, no quorum)
is sent again whole. With a Nats-Msg-Id on each message the stream drops the copies of
those that had landed; without (the negative control) they stay, and `copies` shows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson
from nats.js import JetStreamContext

from tests.faults.checks import read_all

SUBJECT = "events.probe.chaos.election-probe"
WINDOW = 20
MAX_BURST_S = 60.0


@dataclass
class ElectionProbe:
    js: JetStreamContext
    with_msg_ids: bool = True
    published: int = 0  # messages whose PubAck came back (each counted once)
    failed_windows: int = 0
    _next: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Publish continuously from now until `stop()`."""
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._burst())

    def stop_soon(self) -> None:
        """No new window after the one in hand (which is retried until acknowledged)."""
        self._stop.set()

    async def stop(self) -> None:
        """Stop once the window in hand has been acknowledged (bounded)."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, MAX_BURST_S)

    async def _burst(self) -> None:
        deadline = time.monotonic() + MAX_BURST_S
        while not self._stop.is_set() and time.monotonic() < deadline:
            numbers = list(range(self._next, self._next + WINDOW))
            self._next += WINDOW
            while time.monotonic() < deadline:  # the same window until it is acknowledged
                if await self._window(numbers):
                    self.published += len(numbers)
                    break
                self.failed_windows += 1
                await asyncio.sleep(0.2)

    async def _window(self, numbers: list[int]) -> bool:
        try:
            pending = [
                await self.js.publish_async(
                    SUBJECT,
                    orjson.dumps({"probe": n}),
                    headers={"Nats-Msg-Id": f"probe:{n}"} if self.with_msg_ids else None,
                )
                for n in numbers
            ]
            await asyncio.wait_for(asyncio.gather(*pending), timeout=5.0)
        except Exception:
            return False
        return True


async def copies(js: JetStreamContext) -> dict[str, int]:
    """What the probe left on EVENTS: distinct numbers, and copies beyond one each."""
    counts: Counter[int] = Counter()
    for m in await read_all(js, "EVENTS", subject=SUBJECT):
        counts[int(orjson.loads(m.data)["probe"])] += 1
    return {
        "probe_distinct": len(counts),
        "probe_copies": sum(c - 1 for c in counts.values()),
    }
