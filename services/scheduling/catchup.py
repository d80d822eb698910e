"""Whether scheduling's consumer has caught up with EVENTS, so the sweep may call a slot
overdue: a slot is only missing its visit if the visit is not still waiting in the stream
(after a restart, or behind a burst, it usually is).

Caught up means: every message the consumer's filter matched when we looked has been
applied. The server's consumer info says so directly when nothing is pending and nothing
is in flight. Under steady load something is always in flight, so a look with nothing
pending marks the position delivered so far, and a later look whose ack floor has passed
that mark proves everything up to it applied; the sweep then uses the clock as it was at
the mark. A failed look (no stream yet, NATS away) is "not known": no slot goes overdue.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerState:
    """What the server's consumer info says, as far as catching up goes."""

    pending: int  # matched by the filter, not yet delivered
    in_flight: int  # delivered, not yet acked (being applied)
    delivered: int  # stream sequence of the last message delivered
    acked: int  # stream sequence below which everything is acked (the ack floor)


@dataclass
class CatchUp:
    look: Callable[[], Awaitable[ConsumerState]]
    _mark: tuple[int, datetime] | None = None

    async def caught_up_at(self, now: datetime) -> datetime | None:
        """The clock at a moment whose stream the consumer has wholly applied (`now`, or an
        earlier mark), or None while that is not known."""
        try:
            state = await self.look()
        except Exception as exc:
            log.info("sweep: consumer position unknown (%s); no slot goes overdue yet", exc)
            return None
        return self.judge(state, now)

    def judge(self, state: ConsumerState, now: datetime) -> datetime | None:
        if self._mark is not None and state.acked >= self._mark[0]:
            at, self._mark = self._mark[1], None
            return at
        if state.pending:
            return None
        if not state.in_flight:
            self._mark = None
            return now
        if self._mark is None:
            self._mark = (state.delivered, now)
        return None
