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
)
from tests.perf.province import Event, Province, canonical

CHUNK = 10_000


async def fill(
    bench: Bench, province: Province, events: Iterator[Event], target: int
) -> dict[str, Any]:
    """Publish canonical events until reporting holds `target` events; time both sides."""
    watermark = await Watermark.open(bench)
    base = (await watermark.read())[0]
    wanted = max(0, target - base)
    nc = await nats.connect(servers=nats_servers(bench.nats.admin_url))
    js = nc.jetstream(publish_async_max_pending=4000)
    cpu_before = cpu_seconds(bench)
    started = time.time()
    sent = 0
    halfway = None  # a moment with half the fill recorded before it: as_of's probe
    while sent < wanted:
        chunk = list(itertools.islice(events, min(CHUNK, max(1, wanted // 2), wanted - sent)))
        recorded_at = datetime.now(UTC).isoformat()
        if halfway is None and sent >= wanted // 2:
            halfway = recorded_at
        for e in chunk:
            region = province.region_of(e["agency_id"])
            await js.publish_async(
                f"events.{region}.{e['agency_id']}.{e['type']}",
                orjson.dumps(canonical(e, region, recorded_at)),
                headers={"Nats-Msg-Id": f"{e['agency_id']}:{e['event_id']}"},
            )
        sent += len(chunk)
    await js.publish_async_completed()
    published = time.time()
    await nc.close()
    done = await watermark.wait_for(base + wanted, timeout_s=7200, interval_s=0.2)
    total = (await watermark.read())[0]
    await watermark.close()
    cpu_reported = cpu_seconds(bench)
    scheduled = await drained(bench, "scheduling", timeout_s=7200)
    return {
        "published": wanted,
        "publish_per_s": round(wanted / max(published - started, 1e-9)),
        "reported_per_s": round(wanted / max(done - started, 1e-9)),
        "seconds": round(done - started, 1),
        "projection_events": total,
        "halfway_recorded_at": halfway,
        "cpu_seconds": cpu_delta(cpu_before, cpu_reported),
        # Scheduling consumes the same stream (its own types) beside reporting.
        "scheduling_drained_per_s": round(wanted / max(scheduled - started, 1e-9)),
        "scheduling_cpu_seconds": cpu_delta(cpu_before, cpu_seconds(bench))["scheduling"],
    }


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


def rebuild(bench: Bench) -> dict[str, Any]:
    """`qianshou reporting rebuild` with reporting's environment; its JSON and its peak RSS."""
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
    out, err = proc.communicate()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"rebuild failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["peak_rss_mb"] = peak["mb"]
    return result
