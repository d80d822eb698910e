"""The summary grid of issue 19: every scope an official asks for, over every kind of period,
with and without a breakdown; then explain, as_of, and summaries while a rebuild runs.

Each cell is timed with sequential GET requests (a warm-up first), p50/p95 in ms. A cell
stops early once it has spent its time budget (at least `min_rounds` timed requests), so a
slow cell cannot eat a run: the sample count is printed beside its percentiles.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from shared.events import SERVICES
from tests.perf import fill
from tests.perf.harness import Bench, percentiles
from tests.perf.province import Province

PERIODS: dict[str, dict[str, str]] = {
    "all_time": {},
    "year": {"from": "2020-01-01", "to": "2020-12-31"},
    "quarter": {"from": "2020-04-01", "to": "2020-06-30"},
    "custom": {"from": "2020-03-15", "to": "2021-02-10"},
}
BREAKDOWNS = ("none", "month", "quarter", "region")


@dataclass
class Rounds:
    """How hard each cell is timed."""

    rounds: int = 20
    warmup: int = 1
    min_rounds: int = 3
    budget_s: float = 8.0
    only: str = ""  # a regular expression over cell names (CI's quick run times a few)


def scopes(the: Province) -> dict[str, dict[str, str]]:
    """Province, prefecture, county, agency, pairing and project of the synthetic province:
    the ones holding the most events (Yanbian, where the clients are)."""
    pairing, (_, assisted) = next(iter(the.pairings.items()))
    project = next(a.project_id for a in the.agencies if a.project_id)
    return {
        "province": {"region": "22"},
        "prefecture": {"region": "2224"},
        "county": {"region": the.region_of(assisted)},
        "agency": {"agency": assisted},
        "pairing": {"pairing": pairing},
        "project": {"project": str(project)},
    }


def cells(the: Province) -> dict[str, dict[str, str] | None]:
    """Every cell's query; None where the API refuses it (a breakdown by period needs from
    and to, so "all time by month" is not a question it answers)."""
    out: dict[str, dict[str, str] | None] = {}
    for scope, where in scopes(the).items():
        for period, span in PERIODS.items():
            for breakdown in BREAKDOWNS:
                name = f"{scope}/{period}/{breakdown}"
                if breakdown in ("month", "quarter") and not span:
                    out[name] = None
                    continue
                params = {**where, **span}
                if breakdown != "none":
                    params["breakdown"] = breakdown
                out[name] = params
    return out


def _time(client: httpx.Client, path: str, params: dict[str, str], how: Rounds) -> dict[str, Any]:
    times: list[float] = []
    started = time.monotonic()
    for k in range(how.warmup + how.rounds):
        t0 = time.perf_counter()
        resp = client.get(path, params=params)
        elapsed = (time.perf_counter() - t0) * 1000
        resp.raise_for_status()
        if k >= how.warmup:
            times.append(elapsed)
        if len(times) >= how.min_rounds and time.monotonic() - started > how.budget_s:
            break
    return {**percentiles(times, (50, 95)), "n": len(times)}


def _client(bench: Bench) -> httpx.Client:
    headers = {"Authorization": f"Bearer {bench.token('province', region='22')}"}
    return httpx.Client(base_url=bench.url("reporting"), timeout=300, headers=headers)


def summary_grid(bench: Bench, the: Province, how: Rounds) -> dict[str, Any]:
    """p50/p95 (ms) and the number of timed requests per cell; the slowest cells first in
    `slowest`, and how many cells meet `target_ms`."""
    out: dict[str, Any] = {}
    with _client(bench) as client:
        for name, params in cells(the).items():
            if not re.search(how.only, name):
                continue
            if params is None:
                out[name] = {"refused": "a breakdown by period needs from and to"}
                continue
            out[name] = {"params": params, **_time(client, "/v1/reports/summary", params, how)}
    timed = {k: v for k, v in out.items() if "p95" in v}
    slowest = sorted(timed, key=lambda k: -timed[k]["p95"])
    return {"cells": out, "slowest": [f"{k}: {timed[k]['p95']} ms" for k in slowest[:10]]}


def explain_and_as_of(
    bench: Bench, the: Province, as_of: str | None, how: Rounds
) -> dict[str, Any]:
    """Explain's first page of a figure, and the summary as of an earlier moment (ms)."""
    where = scopes(the)
    year = PERIODS["year"]
    out: dict[str, Any] = {}
    with _client(bench) as client:
        for scope in ("province", "county", "agency"):
            for kpi in (f"visits_by_service.{SERVICES[0]}", "clients_served"):
                params = {**where[scope], **year, "kpi": kpi, "limit": "100"}
                out[f"explain/{scope}/year/{kpi}"] = {
                    "params": params,
                    **_time(client, "/v1/reports/explain", params, how),
                }
        if as_of:
            for scope in ("province", "prefecture", "agency"):
                for period in ("all_time", "year"):
                    params = {**where[scope], **PERIODS[period], "as_of": as_of}
                    out[f"as_of/{scope}/{period}"] = {
                        "params": params,
                        **_time(client, "/v1/reports/summary", params, how),
                    }
    return out


def rebuild_while_reading(bench: Bench, the: Province) -> dict[str, Any]:
    """`qianshou reporting rebuild` (fill.rebuild, in a thread) while a reader asks for the
    province's summary and the prefecture's year by quarter, in turn, as fast as they are
    answered: the rebuild's JSON, and the reader's latencies (ms) and failures during it."""
    where = scopes(the)
    asks = [where["province"], {**where["prefecture"], **PERIODS["year"], "breakdown": "quarter"}]
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result.update(fill.rebuild(bench))
        except Exception as exc:  # re-raised in the caller's thread below
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    times: list[float] = []
    failures: Counter[str] = Counter()
    with _client(bench) as client:
        k = 0
        while worker.is_alive():
            t0 = time.perf_counter()
            try:
                resp = client.get("/v1/reports/summary", params=asks[k % 2])
                if not resp.is_success:
                    failures[f"{resp.status_code} {resp.text[:300]}"] += 1
            except httpx.HTTPError as exc:
                failures[repr(exc)[:300]] += 1
            times.append((time.perf_counter() - t0) * 1000)
            k += 1
    worker.join()
    if "error" in result:
        raise result["error"]
    result["events_per_s"] = round(result["replayed"] / max(result["seconds"], 1e-9))
    return {
        "rebuild": result,
        "summaries_during": {
            **percentiles(times),
            "n": len(times),
            "failed": sum(failures.values()),
        },
        "failures_during": dict(failures),
    }
