"""The outbox relay: events a service decided to publish go from its database to JetStream.

A service writes its state change and an `outbox` row (seq, subject, msg_id, body,
created_at) in one transaction; this relay publishes them. Rows are claimed with
FOR UPDATE SKIP LOCKED (several processes of a service may relay at
once), published in one pipelined window that waits for every PubAck, and deleted in the
same transaction. A crash after publishing but before the delete re-publishes the window:
the stream's duplicate window drops the repeats (Nats-Msg-Id), and consumers are
idempotent by event id beyond it. While NATS is down the backlog grows and the relay
retries with a growing pause; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

import asyncpg
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge, Histogram

from shared import faults, publishing
from shared.settings import for_tests

log = logging.getLogger(__name__)

# The outbox, declared here only: every service that publishes through the relay asks
# shared/db.py to create it (before its own migrations). `seq` orders publication; intake
# sets it to the event's seq in its log, other services let the sequence choose.
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        bigserial PRIMARY KEY,
    subject    text NOT NULL,
    msg_id     text NOT NULL,
    body       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

OUTBOX_BACKLOG = Gauge(
    "qianshou_outbox_backlog", "Events stored but not yet on the stream", ["service"]
)
PUBLISH_SECONDS = Histogram(
    "qianshou_outbox_publish_seconds",
    "From storing an event to its PubAck from the stream",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
PUBLISH_FAILURES = Counter(
    "qianshou_outbox_publish_failures_total",
    "Relay windows that failed and will be retried",
    ["service"],
)


# For the cluster fault run's negative control only: without the header, a window retried
# after an election lands twice on EVENTS, and the run must see those copies.
_UNSAFE_NO_MSG_ID = for_tests().unsafe_no_msg_id


class Relay:
    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        wakeup: asyncio.Event,
        window: int = 2000,
        ack_timeout_s: float = 10.0,
    ):
        self.service, self.pool, self.js, self.wakeup = service, pool, js, wakeup
        self.window, self.ack_timeout_s = window, ack_timeout_s
        self.backlog = 0
        self.healthy = True
        self._last_count = 0.0

    async def run(self) -> None:
        """Publish until cancelled."""
        pause = 0.1
        while True:
            try:
                published = await self.publish_window()
                self.healthy, pause = True, 0.1
            except Exception as exc:
                # Anything that stops a window (NATS down, no PubAck, database gone) is
                # retried: the rows stay in the outbox until a PubAck covers them.
                PUBLISH_FAILURES.labels(self.service).inc()
                self.healthy = False
                with contextlib.suppress(Exception):
                    await self._count_backlog()
                log.warning(
                    "%s relay: window failed (%s); %d event(s) wait in the outbox; retrying"
                    " with the same Nats-Msg-Id in %.1fs",
                    self.service,
                    publishing.describe(exc),
                    self.backlog,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            await self._count_backlog()
            if published < self.window:
                self.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout=1.0)

    async def publish_window(self) -> int:
        """Publish up to one window of the outbox; returns how many were published."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT seq, subject, msg_id, body, created_at FROM outbox"
                " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.window,
            )
            if not rows:
                return 0
            pending = [
                await self.js.publish_async(
                    r["subject"],
                    r["body"],
                    headers=None if _UNSAFE_NO_MSG_ID else {"Nats-Msg-Id": r["msg_id"]},
                )
                for r in rows
            ]
            await asyncio.wait_for(asyncio.gather(*pending), timeout=self.ack_timeout_s)
            faults.point(
                f"{self.service}.relay.after_publish"
            )  # published, not yet marked: the repeat case
            await conn.execute(
                "DELETE FROM outbox WHERE seq = ANY($1::bigint[])", [r["seq"] for r in rows]
            )
        now = datetime.now(UTC)
        for r in rows:
            PUBLISH_SECONDS.labels(self.service).observe((now - r["created_at"]).total_seconds())
        return len(rows)

    async def _count_backlog(self) -> None:
        """Refresh the backlog figure at most once a second (it is a count over a table)."""
        if time.monotonic() - self._last_count < 1.0:
            return
        self._last_count = time.monotonic()
        self.backlog = int(await self.pool.fetchval("SELECT count(*) FROM outbox"))
        OUTBOX_BACKLOG.labels(self.service).set(self.backlog)
