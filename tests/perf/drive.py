"""Driving intake through its front doors: sustained load, and a fixed rate for latency.

Sustained: the events go out in per-agency requests of up to 500, taken from one queue by
concurrent clients; one request in five goes over NATS (intake.<agency>.<type>, one request
per type, as the subject names it), the others over HTTP. Timed from the first send until
reporting's projections hold every accepted event.

Latency: one frontend sends requests of ten events of one agency every 20 ms (500 events/s)
over HTTP. A request's events are reflected once reporting's watermark (the row the
summary's as_of reads, written in the consumer's transaction) counts them; requests are sent
in order and the relay and the consumer keep that order, so the count says which requests
are in. Latency runs from the request's scheduled send time, so a slow reply delays the
measurements that follow it instead of hiding them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import nats
import orjson

from deploy.natsauth import agency_user
from shared.settings import nats_servers
from shared.subjects import inbox_prefix
from tests.perf.harness import Bench, Watermark, cpu_delta, cpu_seconds, percentiles
from tests.perf.province import Event

HTTP_BATCH = 500
REGISTRY = ("agency-registered", "pairing-established")  # sent by the province token
NATS_EVERY = 5  # every fifth request goes over NATS


def requests_of(events: list[Event], batch: int = HTTP_BATCH) -> list[tuple[str, list[Event]]]:
    """Per-agency requests of up to `batch` events, in the order the events arise."""
    open_batches: dict[str, list[Event]] = {}
    out: list[tuple[str, list[Event]]] = []
    for event in events:
        items = open_batches.setdefault(event["agency_id"], [])
        items.append(event)
        if len(items) == batch:
            out.append((event["agency_id"], items))
            open_batches[event["agency_id"]] = []
    out += [(agency, items) for agency, items in open_batches.items() if items]
    return out


async def _send_http(client: httpx.AsyncClient, token: str, items: list[Event]) -> list[Any]:
    resp = await client.post(
        "/v1/events", content=orjson.dumps(items), headers={"Authorization": f"Bearer {token}"}
    )
    body = resp.json()
    if not isinstance(body, list):
        raise RuntimeError(f"intake answered {resp.status_code}: {body}")
    return body


async def _send_nats(nc: Any, agency: str, items: list[Event]) -> list[Any]:
    by_type: dict[str, list[Event]] = {}
    for event in items:
        by_type.setdefault(event["type"], []).append(event)
    results: list[Any] = []
    for event_type, group in by_type.items():
        msg = await nc.request(f"intake.{agency}.{event_type}", orjson.dumps(group), timeout=60)
        results += orjson.loads(msg.data)
    return results


async def _agency_client(bench: Bench, agency: str) -> Any:
    """An agency's own NATS user, with its own inbox (intake answers only there)."""
    assert bench.nats.users is not None
    return await nats.connect(
        servers=nats_servers(bench.nats.url),
        user=agency_user(agency),
        password=bench.nats.users.agencies[agency],
        inbox_prefix=inbox_prefix(agency).encode(),
    )


async def sustained(bench: Bench, events: list[Event], clients: int = 8) -> dict[str, Any]:
    """Send every event through intake with `clients` concurrent senders; time until reported."""
    registry = [e for e in events if e["type"] in REGISTRY]
    todo = list(enumerate(requests_of([e for e in events if e["type"] not in REGISTRY])))
    tokens = {a: bench.token(agency_id=a) for a in {e["agency_id"] for e in events}}
    statuses: Counter[str] = Counter()
    watermark = await Watermark.open(bench)
    base = (await watermark.read())[0]
    agencies = sorted({e["agency_id"] for e in events})
    clients_by_agency = {a: await _agency_client(bench, a) for a in agencies}
    cpu_before = cpu_seconds(bench)

    async def sender(client: httpx.AsyncClient) -> None:
        while todo:
            index, (agency, items) = todo.pop(0)
            if index % NATS_EVERY == NATS_EVERY - 1:
                results = await _send_nats(clients_by_agency[agency], agency, items)
            else:
                results = await _send_http(client, tokens[agency], items)
            statuses.update(r["status"] for r in results)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=bench.url("intake"), timeout=120, limits=limits
    ) as client:
        started = time.time()
        # The department registers the agencies and pairs them (SPEC 3.6), before the
        # agencies report; its requests are part of the timed run.
        province = bench.token("province", region="22")
        for start in range(0, len(registry), HTTP_BATCH):
            results = await _send_http(client, province, registry[start : start + HTTP_BATCH])
            statuses.update(r["status"] for r in results)
        await asyncio.gather(*(sender(client) for _ in range(clients)))
    sent = time.time()
    for agency_client in clients_by_agency.values():
        await agency_client.close()
    on_stream = await _wait_on_stream(bench, statuses["accepted"])
    done = await watermark.wait_for(base + statuses["accepted"], timeout_s=3600)
    cpu = cpu_delta(cpu_before, cpu_seconds(bench))
    await watermark.close()
    seconds = done - started
    return {
        "events": len(events),
        "statuses": dict(statuses),
        "clients": clients,
        "requests": len(requests_of(events)),
        "seconds": round(seconds, 3),
        "events_per_s": round(statuses["accepted"] / seconds),
        "intake_answered_s": round(sent - started, 3),
        "on_stream_s": round(on_stream - started, 3),
        "reported_s": round(seconds, 3),
        "as_of_covers_last_event": await as_of_covers_newest(bench),
        "cpu_seconds": cpu,
    }


async def _wait_on_stream(bench: Bench, accepted: int) -> float:
    """Wall time at which EVENTS holds every accepted event (the relay's work is done)."""
    nc = await nats.connect(servers=nats_servers(bench.nats.admin_url))
    js = nc.jetstream()
    try:
        while True:
            if (await js.stream_info("EVENTS")).state.messages >= accepted:
                return time.time()
            await asyncio.sleep(0.02)
    finally:
        await nc.close()


async def as_of_covers_newest(bench: Bench) -> bool:
    """The province report's as_of reaches the newest event intake recorded."""
    conn = await asyncpg.connect(bench.database("intake"))
    try:
        newest = await conn.fetchval("SELECT max(recorded_at) FROM event_log")
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=bench.url("reporting"), timeout=120) as client:
        resp = await client.get(
            "/v1/reports/summary",
            params={"region": "22"},
            headers={"Authorization": f"Bearer {bench.token('province', region='22')}"},
        )
    as_of = resp.json().get("as_of")
    return bool(as_of and newest and as_of >= newest.isoformat())


def agency_requests(events: Iterator[Event], size: int) -> Iterator[tuple[str, list[Event]]]:
    """Requests of `size` events of one agency, as soon as an agency has that many."""
    waiting: dict[str, list[Event]] = {}
    for event in events:
        items = waiting.setdefault(event["agency_id"], [])
        items.append(event)
        if len(items) == size:
            yield event["agency_id"], waiting.pop(event["agency_id"])


async def latency(
    bench: Bench, events: Iterator[Event], rate: int = 500, seconds: float = 20.0, size: int = 10
) -> dict[str, Any]:
    """Publish-to-report latency at a fixed rate; percentiles over requests (ms)."""
    interval = size / rate
    count = int(seconds / interval)
    plan = list(itertools.islice(agency_requests(events, size), count))
    watermark = await Watermark.open(bench)
    base = (await watermark.read())[0]
    scheduled: list[float] = []
    async with httpx.AsyncClient(base_url=bench.url("intake"), timeout=60) as client:
        reflected = asyncio.create_task(_watch(watermark, base, size, len(plan)))
        t0 = time.time() + 0.1
        for k, (agency, items) in enumerate(plan):
            due = t0 + k * interval
            await asyncio.sleep(max(0.0, due - time.time()))
            scheduled.append(due)
            await _send_http(client, bench.token(agency_id=agency), items)
        seen = await reflected
    await watermark.close()
    values = [(seen[k] - scheduled[k]) * 1000 for k in range(len(plan))]
    return {
        "rate_events_per_s": rate,
        "events": len(plan) * size,
        "events_per_request": size,
        "latency_ms": percentiles(values),
    }


async def _watch(watermark: Watermark, base: int, size: int, requests: int) -> list[float]:
    """For each request k, the wall time at which the watermark first counts it."""
    seen: list[float] = []
    deadline = time.monotonic() + 600
    while len(seen) < requests and time.monotonic() < deadline:
        events = (await watermark.read())[0] - base
        now = time.time()
        while len(seen) < requests and events >= (len(seen) + 1) * size:
            seen.append(now)
        await asyncio.sleep(0.002)
    if len(seen) < requests:
        raise TimeoutError(f"only {len(seen)} of {requests} latency requests reached the report")
    return seen
