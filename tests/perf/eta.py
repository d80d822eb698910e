"""How long a run would take at more projection events, from a shorter run's JSON: the
fill and the rebuild at the rates that run measured, each grid and explain/as_of request
grown with the events (linear: the slow cells read every fact of their scope), under the
bounds the longer run would be given. The stages that do not depend on the projections
(raw ceilings, end-to-end, latency, each sync setting's) as they took.

    python -m tests.perf.eta run.json --events 10000000 --cell-budget 5 --warmup 0 \\
        --request-timeout 60 --grid-budget 900 [--speedup 2]

--speedup divides every measured time (a run taken on a loaded machine, for an idle one);
--fill-per-s and --rebuild-per-s replace the measured rates. A guide to choose bounds,
not a measurement.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import orjson

from tests.perf.grid import BREAKDOWNS

LIGHT_STAGES = ("servers_and_raw_ceilings", "stack_up", "end_to_end_and_latency")


@dataclass
class Bounds:
    """The longer run's settings, as tests/perf/pipeline.py takes them."""

    events: int = 10_000_000
    cell_budget: float = 8.0
    request_timeout: float = 300.0
    warmup: int = 1
    min_rounds: int = 3
    query_rounds: int = 20
    grid_budget: float = 0.0
    rebuild_timeout: float = 3600.0  # the rebuild command's own deadline
    speedup: float = 1.0
    fill_per_s: float = 0.0
    rebuild_per_s: float = 0.0


def cell_seconds(request_s: float, b: Bounds) -> tuple[float, bool]:
    """Seconds a cell takes when each request takes `request_s`, and whether it times out;
    the rule of grid._time."""
    spent, timed, needed = 0.0, 0, b.min_rounds
    for k in range(b.warmup + b.query_rounds):
        if request_s >= b.request_timeout:
            return spent + b.request_timeout, True
        spent += request_s
        timed += k >= b.warmup
        if k == 0 and spent > b.cell_budget:
            needed = 1
        if timed >= needed and spent > b.cell_budget:
            break
    return spent, False


def estimate(result: dict[str, Any], b: Bounds) -> dict[str, Any]:
    """Minutes per stage at `b.events` projection events."""
    heavy_name = result.get("projections_in") or next(
        s for s in reversed(result["runs"]) if "projection_fill" in result["runs"][s]
    )
    heavy = result["runs"][heavy_name]
    held = heavy["projection_fill"]["projection_events"]
    grow = b.events / held / b.speedup

    def requests(cells: dict[str, Any], budget: float = 0.0) -> tuple[float, int]:
        total, timed_out = 0.0, 0
        order = list(cells)
        if budget:  # as grid.summary_grid goes with a budget: plain summaries first
            order.sort(key=lambda name: BREAKDOWNS.index(name.split("/")[2]))
        for cell in (cells[name] for name in order):
            if "p50" not in cell or (budget and total > budget):
                continue
            seconds, out = cell_seconds(cell["p50"] / 1000 * grow, b)
            total, timed_out = total + seconds, timed_out + out
        return total, timed_out

    grid, grid_timed_out = requests(heavy["summary_grid_ms"]["cells"], b.grid_budget)
    probes, probes_timed_out = requests(heavy.get("explain_and_as_of_ms", {}))
    fill_rate = b.fill_per_s or heavy["projection_fill"]["reported_per_s"] * b.speedup
    rebuild_rate = b.rebuild_per_s or heavy["rebuild"]["events_per_s"] * b.speedup
    light = sum(
        run.get("stage_seconds", {}).get(stage, 0.0) / b.speedup
        for run in result["runs"].values()  # a cluster's run records no stages
        for stage in LIGHT_STAGES
    )
    minutes = {
        "ceilings_end_to_end_latency": light / 60,
        "fill": b.events / fill_rate / 60,
        "summary_grid": grid / 60,
        "explain_and_as_of": probes / 60,
        "rebuild": min(b.events / rebuild_rate, b.rebuild_timeout) / 60,
    }
    return {
        "from_projection_events": held,
        "events": b.events,
        "fill_per_s": round(fill_rate),
        "rebuild_per_s": round(rebuild_rate),
        "cells_timing_out": grid_timed_out,
        "probes_timing_out": probes_timed_out,
        "minutes": {k: round(v, 1) for k, v in minutes.items()},
        "total_minutes": round(sum(minutes.values()), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.eta", description=__doc__)
    parser.add_argument("json")
    for name, default in vars(Bounds()).items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with open(args.json, "rb") as f:
        result = orjson.loads(f.read())
    bounds = Bounds(**{k: v for k, v in vars(args).items() if k != "json"})
    print(orjson.dumps(estimate(result, bounds), option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
