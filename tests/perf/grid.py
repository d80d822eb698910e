"""The summary grid of issue 19: every scope an official asks for, over every kind of period,
with and without a breakdown; then explain, as_of, and summaries while a rebuild runs.

Each cell is timed with sequential GET requests (a warm-up first), p50/p95 in ms. A cell
stops early once it has spent its time budget (at least `min_rounds` timed requests, or one
when its first request alone spent the budget), so a slow cell cannot eat a run: the sample
count is printed beside its percentiles. A request that outlasts `request_timeout_s` counts
as a sample of that many ms (`timed_out` says how many; the true figure is above) and ends
its cell, and the statements it left running in reporting's database are cancelled (nothing
cancels them when the client goes, and a pile of abandoned scans on two cores would slow every
cell after it); an error response ends its cell too (`failed`), so one bad cell costs one
request, not the run. Progress goes to stderr, one line a cell, for whoever watches a long run.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from shared.events import SERVICES
from tests.perf import fill
from tests.perf.harness import Bench, percentiles, progress
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
    request_timeout_s: float = 300.0
    # Called with the time.time() a timed-out request was sent at: cancel what it left running
    abandon: Callable[[float], int] | None = None
    grid_budget_s: float = 0.0  # the whole grid's seconds; 0: no limit

    @classmethod
    def of(cls, args: argparse.Namespace) -> Rounds:
        """From a command line's --query-rounds, --warmup, --min-rounds, --cell-budget,
        --only, --request-timeout and, where it has one, --grid-budget."""
        return cls(
            args.query_rounds,
            args.warmup,
            args.min_rounds,
            args.cell_budget,
            args.only,
            request_timeout_s=args.request_timeout,
            grid_budget_s=getattr(args, "grid_budget", 0.0),
        )


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
    needed = how.min_rounds
    out: dict[str, Any] = {}
    for k in range(how.warmup + how.rounds):
        t0, sent_at = time.perf_counter(), time.time()
        try:
            resp = client.get(path, params=params)
        except httpx.TimeoutException:
            times.append(how.request_timeout_s * 1000)
            out["timed_out"] = 1
            if how.abandon is not None:
                out["statements_cancelled"] = how.abandon(sent_at)
            break
        except httpx.HTTPError as exc:
            out.update(failed=1, error=repr(exc)[:300])
            break
        elapsed = (time.perf_counter() - t0) * 1000
        if not resp.is_success:
            out.update(failed=1, error=f"{resp.status_code} {resp.text[:300]}")
            break
        if k >= how.warmup:
            times.append(elapsed)
        spent = time.monotonic() - started
        if k == 0 and spent > how.budget_s:
            needed = 1  # the first request alone spent the budget: one more at most
        if len(times) >= needed and spent > how.budget_s:
            break
    return {**percentiles(times, (50, 95)), "n": len(times), **out}


def abandoner(database_url: str) -> Callable[[float], int]:
    """Cancels the reading statements that began in reporting's database since a moment (a
    timed-out request's): only SELECTs, so the consumer's writes are never touched. Not
    for use while a rebuild runs."""

    async def cancel(since: float) -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return len(
                await conn.fetch(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND state = 'active' AND query_start >= $1"
                    " AND query ~* '^\\s*(select|with)\\M'",
                    datetime.fromtimestamp(since, UTC),
                )
            )
        finally:
            await conn.close()

    return lambda since: asyncio.run(cancel(since))


def _client(bench: Bench, how: Rounds) -> httpx.Client:
    headers = {"Authorization": f"Bearer {bench.token('province', region='22')}"}
    return httpx.Client(
        base_url=bench.url("reporting"), timeout=how.request_timeout_s, headers=headers
    )


def summary_grid(bench: Bench, the: Province, how: Rounds) -> dict[str, Any]:
    """p50/p95 (ms) and the number of timed requests per cell; the slowest cells first in
    `slowest`, and how many cells meet `target_ms`."""
    out: dict[str, Any] = {}
    started = time.monotonic()
    with _client(bench, how) as client:
        every = cells(the).items()
        if how.grid_budget_s:  # plain summaries first: the budget leaves out breakdowns
            every = sorted(every, key=lambda cell: BREAKDOWNS.index(cell[0].split("/")[2]))
        for name, params in every:
            if not re.search(how.only, name):
                continue
            if params is None:
                out[name] = {"refused": "a breakdown by period needs from and to"}
                continue
            if how.grid_budget_s and time.monotonic() - started > how.grid_budget_s:
                out[name] = {"params": params, "skipped": "the grid's budget was spent"}
                continue
            out[name] = {"params": params, **_time(client, "/v1/reports/summary", params, how)}
            _said(name, out[name], started)
    timed = {k: v for k, v in out.items() if "p95" in v}
    slowest = sorted(timed, key=lambda k: -timed[k]["p95"])
    return {"cells": out, "slowest": [f"{k}: {timed[k]['p95']} ms" for k in slowest[:10]]}


def _said(name: str, cell: dict[str, Any], started: float) -> None:
    spent = time.monotonic() - started
    late = " timed out" if cell.get("timed_out") else " FAILED" if cell.get("failed") else ""
    progress(f"{name}: p95 {cell.get('p95')} ms n={cell['n']}{late} ({spent:.0f} s in)")


def explain_and_as_of(
    bench: Bench, the: Province, as_of: str | None, how: Rounds
) -> dict[str, Any]:
    """Explain's first page of a figure, and the summary as of an earlier moment (ms)."""
    where = scopes(the)
    year = PERIODS["year"]
    asks: dict[str, tuple[str, dict[str, str]]] = {}
    for scope in ("province", "county", "agency"):
        for kpi in (f"visits_by_service.{SERVICES[0]}", "clients_served"):
            params = {**where[scope], **year, "kpi": kpi, "limit": "100"}
            asks[f"explain/{scope}/year/{kpi}"] = ("/v1/reports/explain", params)
    if as_of:
        for scope in ("province", "prefecture", "agency"):
            for period in ("all_time", "year"):
                params = {**where[scope], **PERIODS[period], "as_of": as_of}
                asks[f"as_of/{scope}/{period}"] = ("/v1/reports/summary", params)
    out: dict[str, Any] = {}
    started = time.monotonic()
    with _client(bench, how) as client:
        for name, (path, params) in asks.items():
            out[name] = {"params": params, **_time(client, path, params, how)}
            _said(name, out[name], started)
    return out


def rebuild_while_reading(
    bench: Bench, the: Province, how: Rounds, timeout_s: float | None = None
) -> dict[str, Any]:
    """`qianshou reporting rebuild` (fill.rebuild, in a thread) while a reader asks for the
    province's summary and the prefecture's year by quarter, in turn, as fast as they are
    answered: the rebuild's JSON, and the reader's latencies (ms) and failures during it.
    The rebuild is killed after `timeout_s` (the live projections stay as they were); a
    reader's request that outlasts the request timeout counts as a failure of that many ms."""
    where = scopes(the)
    asks = [where["province"], {**where["prefecture"], **PERIODS["year"], "breakdown": "quarter"}]
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result.update(fill.rebuild(bench, timeout_s=timeout_s))
        except Exception as exc:  # kept in the JSON: the readers' figures still count
            result["error"] = repr(exc)[-2000:]

    worker = threading.Thread(target=run)
    worker.start()
    times: list[float] = []
    failures: Counter[str] = Counter()
    started = said = time.monotonic()
    with _client(bench, how) as client:
        k = 0
        while worker.is_alive():
            if time.monotonic() - said > 30:
                said = time.monotonic()
                progress(f"rebuild: {len(times)} summaries asked ({said - started:.0f} s in)")
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
    if "replayed" in result:
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
