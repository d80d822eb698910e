"""`qianshou reporting reconcile`: read EVENTS, recompute every figure plainly
(`plain.py`), ask reporting's own query for the same figures, print every difference.

Run it when the stream is quiet (after a test, a replay, a rebuild): events that reporting
has not applied yet are differences too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.reporting import summary as served
from services.reporting.handlers import CONSUMER
from services.reporting.reconcile.compare import Difference, differences, scopes, unchecked
from services.reporting.reconcile.plain import IMPLEMENTED, History, Rules, Scope, kpis
from services.reporting.snapshot import snapshot
from shared.consumer import Poison, decode
from shared.events import Canonical
from shared.subjects import EVENTS_STREAM, events_of_type


async def read_events(
    nc: Client, subjects: list[str] | None = None, batch: int = 5000
) -> list[Canonical]:
    """Every event reporting consumes (on `subjects`, by default those of its durable),
    in stream order (undecodable ones are left out: they are on DEADLETTER, never in a
    figure)."""
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        "",
        stream=EVENTS_STREAM,
        config=ConsumerConfig(
            filter_subjects=subjects or [events_of_type(t) for t in CONSUMER.event_types],
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
            max_waiting=1,
        ),
    )
    out: list[Canonical] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                if (await sub.consumer_info()).num_pending == 0:
                    return out
                continue
            for m in msgs:
                try:
                    out.append(decode(m.data))
                except Poison:
                    continue
    finally:
        await sub.unsubscribe()


@dataclass
class Outcome:
    scopes: int
    differences: list[Difference]
    unchecked: list[str] = field(default_factory=list)  # served KPIs not recomputed

    def report(self, rules: Rules) -> dict[str, Any]:
        return {
            "scopes": self.scopes,
            "differences": len(self.differences),
            "unchecked": self.unchecked,
            "rules": {k: v for k, v in vars(rules).items()},
        }


async def reconcile(
    pool: asyncpg.Pool,
    events: list[Canonical],
    today: date,
    region: str | None = None,
    start: date | None = None,
    end: date | None = None,
    rules: Rules = IMPLEMENTED,
    as_of: datetime | None = None,
) -> Outcome:
    """Every scope's figures served against recomputed; as of a moment when given."""
    history = History(events, rules, as_of)
    checked = scopes(history, today, region, start, end)
    found: list[Difference] = []
    unknown: set[str] = set()
    async with pool.acquire() as conn, snapshot(conn):
        for scope in checked:
            figures = await served.summary(conn, _served_scope(scope, today, as_of))
            recomputed = kpis(history, scope, today)
            found += differences(scope, figures, recomputed)
            unknown.update(unchecked(figures, recomputed))
    return Outcome(len(checked), found, sorted(unknown))


def _served_scope(scope: Scope, today: date, as_of: datetime | None) -> served.Scope:
    return served.Scope(
        region=scope.region,
        agency=scope.agency,
        pairing=scope.pairing,
        project=scope.project,
        start=scope.start,
        end=scope.end,
        today=today,
        as_of=as_of,
    )
