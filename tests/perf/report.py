"""The benchmark's JSON as the tables of docs/performance.md: the headline (ratio and
latency per sync setting, fill, disk, rebuild, worst summary p95), the summary grid (p50/p95
per cell), explain and as_of, the rebuild, and where the run's time went.

python -m tests.perf.report tests/perf/full-run.json
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from tests.perf.grid import BREAKDOWNS, PERIODS


def cell_text(cell: dict[str, Any]) -> str:
    """p50 / p95 ms (n); ≥ where a request timed out (the figure is above), else what
    stopped the cell."""
    if "skipped" in cell:
        return "skipped"
    if "p95" not in cell:
        return "failed" if cell.get("failed") else "—"
    above = "≥ " if cell.get("timed_out") else ""
    failed = ", failed" if cell.get("failed") else ""
    return f"{cell['p50']:,.0f} / **{above}{cell['p95']:,.0f}** ({cell['n']}{failed})"


def grid_table(cells: dict[str, Any]) -> list[str]:
    """One line per scope and period, one column per breakdown: p50 / p95 ms (n)."""
    out = [
        "| scope / period | " + " | ".join(BREAKDOWNS) + " |",
        "| --- |" + " ---: |" * len(BREAKDOWNS),
    ]
    scopes = dict.fromkeys(name.split("/")[0] for name in cells)
    for scope in scopes:
        for period in PERIODS:
            row = []
            for breakdown in BREAKDOWNS:
                cell = cells.get(f"{scope}/{period}/{breakdown}")
                if cell is None:
                    row.append("")
                elif "refused" in cell:
                    row.append("—")
                else:
                    row.append(cell_text(cell))
            if any(row):  # a run with --only leaves some out
                out.append(f"| {scope} / {period} | " + " | ".join(row) + " |")
    return out


def probes_table(probes: dict[str, Any]) -> list[str]:
    out = ["| request | p50 / p95 ms (n) |", "| --- | ---: |"]
    for name, cell in probes.items():
        out.append(f"| {name} | {cell_text(cell)} |")
    return out


def headline(result: dict[str, Any]) -> list[str]:
    """One line per figure issue 19 sets a target for, and what the fill left on disk."""
    targets = result.get("targets", {})
    runs = result["runs"]
    out = ["| figure | measured | target |", "| --- | ---: | ---: |"]
    for sync, run in runs.items():
        if "ratio_end_to_end_to_raw_pipeline" in run:
            out.append(
                f"| end-to-end / raw pipeline, sync {sync} | "
                f"{run['ratio_end_to_end_to_raw_pipeline']:.2f} "
                f"({run['end_to_end']['events_per_s']:,.0f} / "
                f"{run['raw_ceilings']['pipeline']['events_per_s']:,.0f} events/s) | "
                f"≥ {targets.get('ratio_to_raw_pipeline_min', '')} |"
            )
        if "publish_to_report" in run:
            out.append(
                f"| publish→report p99, sync {sync} | "
                f"{run['publish_to_report']['latency_ms']['p99']:,.0f} ms | "
                f"< {targets.get('latency_p99_ms_max', '')} ms |"
            )
    # Runs before projections_in existed filled the projections in every sync setting.
    filled_in = result.get("projections_in") or next(
        (sync for sync in reversed(runs) if "projection_fill" in runs[sync]), ""
    )
    heavy = runs.get(filled_in, {})
    filled = heavy.get("projection_fill")
    if filled:
        reported = filled.get("reported_per_s")
        out.append(
            f"| projection fill (sync {filled_in}) | "
            f"{filled['projection_events']:,} events; published "
            f"{filled['publish_per_s']:,}/s, reported "
            f"{f'{reported:,}/s' if reported else filled.get('timed_out', '?')} | |"
        )
    disk = heavy.get("disk_after_fill_mb")
    if disk:
        out.append(
            "| disk after the fill | "
            + ", ".join(f"{k.removesuffix('_mb')} {v:,.0f} MB" for k, v in disk.items())
            + " | |"
        )
    cells = heavy.get("summary_grid_ms", {}).get("cells", {})
    timed = {k: c for k, c in cells.items() if "p95" in c}
    if timed:
        worst = max(timed, key=lambda k: timed[k]["p95"])
        within = sum(c["p95"] < targets.get("summary_p95_ms_max", 0) for c in timed.values())
        out.append(
            f"| summary p95, worst cell ({worst}) | {cell_text(timed[worst])}; "
            f"{within} of {len(timed)} cells within target | "
            f"< {targets.get('summary_p95_ms_max', '')} ms |"
        )
    out += rebuild_lines(heavy, targets)
    return out


def rebuild_lines(run: dict[str, Any], targets: dict[str, Any]) -> list[str]:
    rebuilt = run.get("rebuild")
    if not rebuilt:
        return []
    if "events_per_s" not in rebuilt:
        below = rebuilt.get("events_per_s_below")
        slower = f" (under {below:,} events/s)" if below else ""
        return [f"| rebuild | failed{slower}: {rebuilt.get('error', '?')[:200]} | |"]
    during = run.get("summaries_during", {})
    return [
        f"| rebuild | {rebuilt['events_per_s']:,} events/s ({rebuilt['replayed']:,} in "
        f"{rebuilt['seconds']:,.0f} s, peak RSS {rebuilt.get('peak_rss_mb', 0):,.0f} MB) | "
        f"≥ {targets.get('rebuild_events_per_s_min', 0):,} |",
        f"| summaries during the rebuild | p50 {during.get('p50', 0):,.0f} / p95 "
        f"{during.get('p95', 0):,.0f} ms ({during.get('n', 0)}, {during.get('failed', 0)} "
        "failed) | |",
    ]


def stages_table(result: dict[str, Any]) -> list[str]:
    """Each stage's seconds and the load average (1/5/15 min) as it began."""
    out = ["| run / stage | seconds | load average at start |", "| --- | ---: | --- |"]
    for sync, run in result["runs"].items():
        load = run.get("stage_load_average", {})
        for stage, seconds in run.get("stage_seconds", {}).items():
            loads = " / ".join(f"{x:.1f}" for x in load.get(stage, []))
            out.append(f"| {sync} / {stage} | {seconds:,.0f} | {loads} |")
    return out


def main(argv: list[str] | None = None) -> int:
    path = (sys.argv[1:] if argv is None else argv)[0]
    with open(path, "rb") as f:
        result = orjson.loads(f.read())
    print("### Headline\n")
    print("\n".join(headline(result)) + "\n")
    if result.get("errors"):
        print("Errors: " + "; ".join(f"{k}: {v[:200]}" for k, v in result["errors"].items()))
        print()
    for sync, run in result["runs"].items():
        if "summary_grid_ms" in run:
            print(f"### Summary grid ({sync})\n")
            print("\n".join(grid_table(run["summary_grid_ms"]["cells"])) + "\n")
        if "explain_and_as_of_ms" in run:
            print(f"### Explain and as_of ({sync})\n")
            print("\n".join(probes_table(run["explain_and_as_of_ms"])) + "\n")
    if any("stage_seconds" in run for run in result["runs"].values()):
        print("### Stages\n")
        print("\n".join(stages_table(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
