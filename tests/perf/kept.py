"""A `tests.perf.pipeline --keep` run's servers and stack started again on the folders it
left, and its summary grid timed again over the same projections (after the run's rebuild
has rewritten them, with nothing else running), without filling them a second time.

    python -m tests.perf.kept ROOT/default [--events 50000] [--query-rounds 10] \\
        [--cell-budget 5] [--request-timeout 60] [--only REGEX]

ROOT is the run's temporary folder (qianshou-perf-*); --events must be the run's, which
sized the province. Prints one JSON object, the grid's cells as the run records them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from tests.perf import grid, province
from tests.perf.harness import Bench, Watermark, load_average, start_servers, start_stack


def open_kept(root: Path, sync: str = "default") -> Bench:
    """The kept run's NATS, PostgreSQL and services on their folders. Scheduling is stopped
    at once: the run stopped it for its fill, and started again it would work through
    every event of the fill beside whatever is timed."""
    nats_server, postgres = start_servers(root, sync)
    bench = start_stack(root, sync, nats_server, postgres)
    bench.stack.services["scheduling"].stop()
    return bench


async def held(bench: Bench) -> int:
    """How many events reporting's projections hold (its watermark)."""
    watermark = await Watermark.open(bench)
    try:
        return (await watermark.read())[0]
    finally:
        await watermark.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.kept", description=__doc__)
    parser.add_argument("root", help="the kept run's folder for one sync setting (ROOT/default)")
    parser.add_argument("--events", type=int, default=100_000, help="the run's --events")
    parser.add_argument("--sync", choices=["always", "default"], default="default")
    parser.add_argument("--query-rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--min-rounds", type=int, default=3)
    parser.add_argument("--cell-budget", type=float, default=5.0)
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    how = grid.Rounds.of(args)
    bench = open_kept(Path(args.root), args.sync)
    try:
        how.abandon = grid.abandoner(bench.database("reporting"))
        load = load_average()
        events = asyncio.run(held(bench))
        timed = grid.summary_grid(bench, province.scaled(args.events), how)
    finally:
        bench.stop()
    out: dict[str, Any] = {
        "command": "python -m tests.perf.kept " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": load},
        "projection_events": events,
        "summary_grid_ms": timed,
    }
    print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
