"""Reporting at scale: fill its projections, time summary queries, time a rebuild.

A million events through intake's front door takes long, so the projections are filled by
publishing canonical events (as intake's relay would: events.<region>.<agency>.<type> with
Nats-Msg-Id <agency>:<event_id>) straight to EVENTS with plain nats-py, pipelined; reporting
consumes them through its own consumer. That stream is also the rebuild's input.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import orjson

from shared.settings import nats_servers
from tests.perf.harness import (
    REPO,
    Bench,
    Watermark,
    cpu_delta,
    cpu_seconds,
    percentiles,
    proc_status,
    progress,
)
from tests.perf.province import Event, Province, canonical

CHUNK = 10_000


async def fill(
    bench: Bench,
    province: Province,
    events: Iterator[Event],
    target: int,
    timeout_s: float = 7200.0,
) -> dict[str, Any]:
    """Publish canonical events until reporting holds `target` events; time both sides.

    Streams: at most CHUNK events and publish_async_max_pending unacknowledged publishes are
    held at once, whatever the target. Reporting and scheduling get `timeout_s` from the
    first publish to take everything in; past it the JSON says how far they got
    (`timed_out`) instead of the run failing, so the stages after it still measure."""
    watermark = await Watermark.open(bench)
    base = (await watermark.read())[0]
    wanted = max(0, target - base)
    nc = await nats.connect(servers=nats_servers(bench.nats.admin_url))
    js = nc.jetstream(publish_async_max_pending=4000)
    rejected: Counter[str] = Counter()

    def acked(future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            rejected[repr(future.exception())[:200]] += 1

    cpu_before = cpu_seconds(bench)
    started = time.time()
    deadline = time.monotonic() + timeout_s
    sent = 0
    said = time.monotonic()
    halfway = None  # a moment with half the fill recorded before it: as_of's probe
    while sent < wanted:
        chunk = list(itertools.islice(events, min(CHUNK, max(1, wanted // 2), wanted - sent)))
        recorded_at = datetime.now(UTC).isoformat()
        if halfway is None and sent >= wanted // 2:
            halfway = recorded_at
        for e in chunk:
            region = province.region_of(e["agency_id"])
            future = await js.publish_async(
                f"events.{region}.{e['agency_id']}.{e['type']}",
                orjson.dumps(canonical(e, region, recorded_at)),
                headers={"Nats-Msg-Id": f"{e['agency_id']}:{e['event_id']}"},
            )
            future.add_done_callback(acked)
        sent += len(chunk)
        if time.monotonic() - said > 30:
            said = time.monotonic()
            progress(f"fill: {sent:,} of {wanted:,} published ({time.time() - started:.0f} s in)")
    await asyncio.wait_for(js.publish_async_completed(), timeout=600)
    published = time.time()
    await nc.close()
    progress(
        f"fill: all {wanted:,} published in {published - started:.0f} s; waiting for reporting"
    )
    done = await _watch(watermark, base + wanted, deadline, started)
    total = (await watermark.read())[0]
    await watermark.close()
    cpu_reported = cpu_seconds(bench)
    scheduling = bench.stack.services["scheduling"].running()
    scheduled: float | None = None
    try:
        if scheduling:
            scheduled = await drained(
                bench, "scheduling", timeout_s=max(60.0, deadline - time.monotonic())
            )
    except TimeoutError:
        pass
    out: dict[str, Any] = {
        "published": wanted,
        "publish_rejected": dict(rejected),
        "publish_per_s": round(wanted / max(published - started, 1e-9)),
        "projection_events": total,
        "halfway_recorded_at": halfway,
        "cpu_seconds": cpu_delta(cpu_before, cpu_reported),
    }
    if scheduling:  # it consumes the same stream (its own types) beside reporting
        out["scheduling_cpu_seconds"] = cpu_delta(cpu_before, cpu_seconds(bench))["scheduling"]
    else:
        out["scheduling"] = "stopped for the fill"
    if done is None:
        out["timed_out"] = f"reporting held {total - base:,} of {wanted:,} after {timeout_s} s"
    else:
        out["reported_per_s"] = round(wanted / max(done - started, 1e-9))
        out["seconds"] = round(done - started, 1)
    if scheduling and scheduled is None:
        out["scheduling_timed_out"] = True
    elif scheduled is not None:
        out["scheduling_drained_per_s"] = round(wanted / max(scheduled - started, 1e-9))
    return out


async def _watch(
    watermark: Watermark, events: int, deadline: float, started: float
) -> float | None:
    """When reporting first holds `events` (time.time()), saying how far it is every minute;
    None once `deadline` (monotonic) passes."""
    while True:
        try:
            return await watermark.wait_for(
                events, timeout_s=max(0.0, min(60.0, deadline - time.monotonic())), interval_s=0.2
            )
        except TimeoutError:
            if time.monotonic() >= deadline:
                return None
            held = (await watermark.read())[0]
            progress(
                f"fill: reporting holds {held:,} of {events:,} ({time.time() - started:.0f} s in)"
            )


async def drained(bench: Bench, durable: str, timeout_s: float) -> float:
    """Wall time at which the durable consumer has nothing pending nor in flight."""
    nc = await nats.connect(servers=nats_servers(bench.nats.admin_url))
    js = nc.jetstream()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            info = await js.consumer_info("EVENTS", durable)
            if not info.num_pending and not info.num_ack_pending:
                return time.time()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{durable} still has {info.num_pending} pending")
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


def query_latency(
    bench: Bench, scopes: dict[str, dict[str, str]], rounds: int = 40, warmup: int = 3
) -> dict[str, Any]:
    """p50/p95 of GET /v1/reports/summary per scope, sequential requests (ms)."""
    headers = {"Authorization": f"Bearer {bench.token('province', region='22')}"}
    out: dict[str, Any] = {}
    with httpx.Client(base_url=bench.url("reporting"), timeout=120, headers=headers) as client:
        for name, params in scopes.items():
            times = []
            for k in range(warmup + rounds):
                started = time.perf_counter()
                resp = client.get("/v1/reports/summary", params=params)
                elapsed = (time.perf_counter() - started) * 1000
                resp.raise_for_status()
                if k >= warmup:
                    times.append(elapsed)
            stats = percentiles(times, (50, 95))
            out[name] = {"params": params, **stats}
    return out


def rebuild(bench: Bench, timeout_s: float | None = None) -> dict[str, Any]:
    """`qianshou reporting rebuild` with reporting's environment; its JSON and its peak RSS.
    Killed after `timeout_s` (None: its own deadline, 3600 s in the command, bounds it); a
    killed rebuild leaves the live projections as they were."""
    env = bench.stack.service_env("reporting")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "reporting", "rebuild"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    peak = {"mb": 0.0}

    def watch() -> None:
        while proc.poll() is None:
            try:
                peak["mb"] = max(peak["mb"], proc_status(proc.pid)["peak_rss_mb"])
            except (OSError, StopIteration):
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TimeoutError(f"rebuild killed after {timeout_s} s") from None
    finally:
        watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"rebuild failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["peak_rss_mb"] = peak["mb"]
    return result
