"""How long the dashboard's pages take at scale: the synthetic province's registry and
activity published straight onto EVENTS (as tests/perf/fill.py does) until reporting holds
`--events` events, then each page fetched in turn with a province session; prints JSON.

    python -m tests.perf.dashboard --events 1000000 --rounds 5
    python -m tests.perf.dashboard --kept /tmp/qianshou-perf-XXXX/default --rounds 5

--kept times the pages over what a `tests.perf.pipeline --keep` run left (its servers
started again on their folders, nothing published): the 10,000,000-event projections
without filling them a second time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.perf import fill, province
from tests.perf.harness import (
    load_average,
    percentiles,
    remove_postgres_data,
    start_servers,
    start_stack,
)
from tests.perf.kept import held, open_kept


def pages(the: province.Province) -> dict[str, str]:
    pairing = next(iter(the.pairings))
    county = the.agencies[-1].region_code
    return {
        "overview, province 22, so far (trend by year)": "/dashboard",
        "overview, province 22, year 2020 (trend by month)": "/dashboard?period=year&year=2020",
        "overview, province 22, a quarter": "/dashboard?period=q2&year=2021",
        "prefecture 2224, so far": "/dashboard?region=2224",
        f"county {county}, its agencies": f"/dashboard?region={county}",
        "one agency, so far": f"/dashboard?agency={the.agencies[-1].agency_id}",
        "a pairing's page": f"/dashboard/pairings/{pairing}",
        # The trends the overviews load after their cards (the first of each round is
        # computed; the same watermark then answers from the cache).
        "trend, province 22, ten years by year": "/dashboard/trend",
        "trend, province 22, 2020 by month": "/dashboard/trend?period=year&year=2020",
    }


def time_pages(
    base: str, token: str, wanted: dict[str, str], rounds: int
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=base, timeout=300, cookies={"qianshou_session": token}) as client:
        for name, path in wanted.items():
            times: list[float] = []
            first = 0.0
            for k in range(rounds + 1):  # the first one warms the caches
                started = time.perf_counter()
                resp = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                if resp.status_code != 200:
                    raise RuntimeError(f"{path}: {resp.status_code} {resp.text[:300]}")
                if k:
                    times.append(elapsed)
                else:
                    first = elapsed
            out[name] = {"path": path, "first": round(first, 1), **percentiles(times, (50, 95))}
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    the = province.scaled(args.events)
    kept = Path(args.kept) if args.kept else None
    root = kept or Path(tempfile.mkdtemp(prefix="qianshou-perf-dashboard-"))
    if kept:
        bench = open_kept(kept, args.sync)
    else:
        nats_server, postgres = start_servers(root, args.sync)
        bench = start_stack(root, args.sync, nats_server, postgres)
    try:
        if kept:
            filled: dict[str, Any] = {"kept": str(kept), "projection_events": await held(bench)}
        else:
            gen = province.Generator(the, seed=args.seed, tag="dash")
            filled = await fill.fill(
                bench, the, itertools.chain(gen.registry(), gen.activity()), args.events
            )
            # Scheduling would still be working through the million events (and
            # publishing its own, which move reporting's watermark): stop it so the pages
            # are timed on a quiet machine, reporting alone answering.
            bench.stack.services["scheduling"].stop()
        token = bench.token("province", region="22")
        timed = time_pages(bench.url("reporting"), token, pages(the), args.rounds)
    finally:
        bench.stop()
        if not kept:
            remove_postgres_data(root)
            shutil.rmtree(root, ignore_errors=True)
    slowest = max(timed, key=lambda name: timed[name]["p50"])
    return {
        "command": "python -m tests.perf.dashboard " + " ".join(args.argv),
        "machine": {"cpus": os.cpu_count(), "load_average_now": load_average()},
        "projection_fill": filled,
        "page_ms": timed,
        "slowest": slowest,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.dashboard", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sync", choices=["always", "default"], default="default")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--kept",
        default="",
        help="a kept pipeline run's folder for one sync setting (ROOT/default): time the "
        "pages over its projections instead of filling new ones",
    )
    args = parser.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    print(orjson.dumps(asyncio.run(run(args)), option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
