"""The outbox relay: accepted events go from intake's database to the EVENTS stream.

Rows are claimed with FOR UPDATE SKIP LOCKED (several intake processes may relay at
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

from services.intake.metrics import OUTBOX_BACKLOG, PUBLISH_FAILURES, PUBLISH_SECONDS

log = logging.getLogger(__name__)


class Relay:
    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, wakeup: asyncio.Event,
                 window: int = 500, ack_timeout_s: float = 10.0):
        self.pool, self.js, self.wakeup = pool, js, wakeup
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
                PUBLISH_FAILURES.inc()
                self.healthy = False
                log.warning("relay: window failed (%s); retrying in %.1fs", exc, pause)
                with contextlib.suppress(Exception):
                    await self._count_backlog()
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
                "SELECT o.seq, o.subject, o.msg_id, o.body, l.recorded_at FROM outbox o"
                " JOIN event_log l USING (seq) ORDER BY o.seq LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
                self.window,
            )
            if not rows:
                return 0
            pending = [
                await self.js.publish_async(r["subject"], r["body"], headers={"Nats-Msg-Id": r["msg_id"]})
                for r in rows
            ]
            await asyncio.wait_for(asyncio.gather(*pending), timeout=self.ack_timeout_s)
            await conn.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])",
                               [r["seq"] for r in rows])
        now = datetime.now(UTC)
        for r in rows:
            PUBLISH_SECONDS.observe((now - r["recorded_at"]).total_seconds())
        return len(rows)

    async def _count_backlog(self) -> None:
        """Refresh the backlog figure at most once a second (it is a count over a table)."""
        if time.monotonic() - self._last_count < 1.0:
            return
        self._last_count = time.monotonic()
        self.backlog = int(await self.pool.fetchval("SELECT count(*) FROM outbox"))
        OUTBOX_BACKLOG.set(self.backlog)
