"""The benchmark's JSON as the tables of docs/performance.md.

python -m tests.perf.report tests/perf/full-run.json
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from tests.perf.grid import BREAKDOWNS, PERIODS


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
                    row.append(f"{cell['p50']:,.0f} / **{cell['p95']:,.0f}** ({cell['n']})")
            if any(row):  # a run with --only leaves some out
                out.append(f"| {scope} / {period} | " + " | ".join(row) + " |")
    return out


def probes_table(probes: dict[str, Any]) -> list[str]:
    out = ["| request | p50 / p95 ms (n) |", "| --- | ---: |"]
    for name, cell in probes.items():
        out.append(f"| {name} | {cell['p50']:,.0f} / **{cell['p95']:,.0f}** ({cell['n']}) |")
    return out


def main(argv: list[str] | None = None) -> int:
    path = (sys.argv[1:] if argv is None else argv)[0]
    with open(path, "rb") as f:
        result = orjson.loads(f.read())
    for sync, run in result["runs"].items():
        print(f"### {sync}\n")
        if "summary_grid_ms" in run:
            print("\n".join(grid_table(run["summary_grid_ms"]["cells"])) + "\n")
        if "explain_and_as_of_ms" in run:
            print("\n".join(probes_table(run["explain_and_as_of_ms"])) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
