"""The run-length estimate follows the grid's own bounds (no servers, nothing timed)."""

from __future__ import annotations

import pytest

from tests.perf import eta


def test_a_cell_stops_at_its_budget_its_first_request_or_the_timeout() -> None:
    b = eta.Bounds(cell_budget=5.0, request_timeout=60.0, warmup=1, min_rounds=3, query_rounds=20)
    assert eta.cell_seconds(0.1, b)[0] == pytest.approx(2.1)  # every round, within budget
    assert eta.cell_seconds(0.5, b) == (5.5, False)  # timed until past the budget
    assert eta.cell_seconds(2.0, b) == (8.0, False)  # a warm-up and three timed
    assert eta.cell_seconds(30.0, b) == (60.0, False)  # warm-up past the budget: one more
    assert eta.cell_seconds(90.0, b) == (60.0, True)  # the first request times out


def test_stages_grow_with_the_events() -> None:
    cell = {"p50": 100.0}
    result = {
        "projections_in": "default",
        "runs": {
            "always": {"stage_seconds": {"servers_and_raw_ceilings": 60.0}},
            "default": {
                "stage_seconds": {"end_to_end_and_latency": 60.0, "fill": 100.0},
                "projection_fill": {"projection_events": 1_000_000, "reported_per_s": 5000},
                "rebuild": {"events_per_s": 10_000},
                "summary_grid_ms": {"cells": {"province/year/none": cell}},
            },
        },
    }
    bounds = eta.Bounds(events=10_000_000, cell_budget=5.0, warmup=0, min_rounds=3)
    out = eta.estimate(result, bounds)
    assert out["minutes"]["ceilings_end_to_end_latency"] == 2.0
    assert out["minutes"]["fill"] == round(10_000_000 / 5000 / 60, 1)
    assert out["minutes"]["rebuild"] == round(10_000_000 / 10_000 / 60, 1)
    assert out["minutes"]["summary_grid"] == round(6.0 / 60, 1)  # 1 s a request, 6 to pass 5 s
