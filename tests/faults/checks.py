"""After the chaos: what every store holds, measured against the ledger.

Each store is read by event key (agency_id, event_id):
- intake's event_log (the source of truth for what was accepted),
- the EVENTS stream (presence only: a repeat beyond the dedup window is allowed there),
- reporting's fact tables and its processed_events,
- scheduling's processed_events and the tables keyed by event (visits, dispatches,
  workers, clients).
`lost` counts events intake holds that a store lacks, `duplicated` every extra copy of an
effect, `phantom` effects of events intake never accepted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import asyncpg
import orjson
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError

from services.reporting.facts import CONSUMED_TYPES as REPORTING_TYPES
from services.reporting.facts import FACT_TABLES, FACTS
from services.scheduling.handlers import CONSUMED_TYPES as SCHEDULING_TYPES
from shared import deadletters
from tests.faults.ledger import Key

ALL_TYPES = frozenset(REPORTING_TYPES) | frozenset(SCHEDULING_TYPES)
SCHEDULING_TABLES = {
    "visits_logged": "visit-logged",
    "staff_dispatches": "staff-dispatched",
    "workers": "worker-registered",
    "clients": "client-registered",
}
# store -> the event types whose effect must be there once
STORES: dict[str, frozenset[str]] = {
    "intake.event_log": ALL_TYPES,
    "reporting.facts": frozenset(FACTS) - {"visit-scheduled", "visit-overdue"},
    "reporting.processed_events": frozenset(REPORTING_TYPES),
    "scheduling.processed_events": frozenset(SCHEDULING_TYPES),
    "scheduling.tables": frozenset(SCHEDULING_TABLES.values()),
    "nats.EVENTS": ALL_TYPES,
}
DURABLES = ("reporting", "scheduling")


async def _keys(conn: asyncpg.Connection, sql: str) -> Counter[Key]:
    return Counter({(r[0], r[1]): r[2] for r in await conn.fetch(sql)})


async def database_counts(urls: dict[str, str]) -> dict[str, Counter[Key]]:
    """Rows per event key in every service's database (one connection each)."""
    out: dict[str, Counter[Key]] = {}
    group = " GROUP BY agency_id, event_id"
    conn = await asyncpg.connect(urls["intake"])
    try:
        out["intake.event_log"] = await _keys(
            conn, "SELECT agency_id, event_id, count(*) FROM event_log" + group
        )
    finally:
        await conn.close()
    for service, tables in (("reporting", FACT_TABLES), ("scheduling", tuple(SCHEDULING_TABLES))):
        conn = await asyncpg.connect(urls[service])
        try:
            union = " UNION ALL ".join(f"SELECT agency_id, event_id FROM {t}" for t in tables)
            name = "reporting.facts" if service == "reporting" else "scheduling.tables"
            out[name] = await _keys(
                conn, f"SELECT agency_id, event_id, count(*) FROM ({union}) u{group}"
            )
            out[f"{service}.processed_events"] = await _keys(
                conn,
                "SELECT agency_id, event_id, count(*) FROM processed_events"
                f" WHERE consumer = '{service}'" + group,
            )
        finally:
            await conn.close()
    return out


async def outbox_backlog(urls: dict[str, str]) -> int:
    total = 0
    for service in ("intake", "scheduling"):
        conn = await asyncpg.connect(urls[service])
        try:
            total += int(await conn.fetchval("SELECT count(*) FROM outbox"))
        finally:
            await conn.close()
    return total


async def lags(js: JetStreamContext) -> dict[str, int]:
    """Per durable: messages not yet delivered plus delivered and not yet acked."""
    out = {}
    for durable in DURABLES:
        info = await js.consumer_info("EVENTS", durable)
        out[durable] = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
    return out


async def read_all(
    js: JetStreamContext, stream: str, limit: int = 1_000_000, subject: str = ">"
) -> list[Any]:
    """Every message on `stream` (or those on `subject`; bounded by `limit`), through an
    ephemeral consumer."""
    info = await js.stream_info(stream, subjects_filter=subject if subject != ">" else None)
    total = info.state.messages
    if subject != ">":
        total = sum((info.state.subjects or {}).values())
    config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    out: list[Any] = []
    unavailable_until = time.monotonic() + 30.0
    try:
        while len(out) < min(total, limit):
            try:
                out.extend(await sub.fetch(1000, timeout=2.0))
            except ServiceUnavailableError:
                # On a cluster, a consumer just created (or after an election) may not
                # answer its first pull yet: ask again for a while.
                if time.monotonic() > unavailable_until:
                    raise
                await asyncio.sleep(0.5)
            except (NatsTimeout, TimeoutError):
                break
    finally:
        await sub.unsubscribe()
    return out


async def stream_counts(js: JetStreamContext) -> Counter[Key]:
    """Messages per event key on EVENTS (undecodable ones are skipped: that is poison)."""
    counts: Counter[Key] = Counter()
    for m in await read_all(js, "EVENTS"):
        try:
            body = orjson.loads(m.data)
            counts[(body["agency_id"], body["event_id"])] += 1
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
    return counts


async def dead_letters(js: JetStreamContext) -> set[tuple[str, int]]:
    """(consumer, original EVENTS sequence) of every message on DEADLETTER."""
    out = set()
    for m in await read_all(js, "DEADLETTER"):
        headers = m.headers or {}
        out.add(
            (headers.get(deadletters.CONSUMER, "?"), int(headers.get(deadletters.STREAM_SEQ, -1)))
        )
    return out


def compare(
    stores: dict[str, Counter[Key]], expected: dict[Key, str], stream_is_repeatable: bool = True
) -> dict[str, Any]:
    """lost / duplicated / phantom per store, for the events `expected` (key -> type)."""
    report: dict[str, Any] = {}
    for store, types in STORES.items():
        counts = stores[store]
        wanted = {k for k, t in expected.items() if t in types}
        lost = sorted(k for k in wanted if counts[k] == 0)
        extra = sum(c - 1 for k, c in counts.items() if c > 1)
        phantom = sorted(k for k in counts if k not in expected)
        report[store] = {
            "lost": len(lost),
            "duplicated": 0 if store == "nats.EVENTS" and stream_is_repeatable else extra,
            "repeats": extra,
            "phantom": len(phantom),
            "examples": [list(k) for k in (lost + phantom)[:5]],
        }
    return report
