"""The benchmark of issue 8: how fast an agency's event becomes a provincial figure, against
what plain nats-py and asyncpg reach on the same machine.

    python -m tests.perf.pipeline --events 100000 [--sync always|default|both]
                                  [--projection-events 1000000] [--projections-in default]
                                  [--out run.json] [--nats-nodes 3 [--cluster-only]]
    python -m tests.perf.pipeline --quick        # CI's size: counts only

For each NATS sync setting it starts its own NATS and PostgreSQL, measures the raw ceilings
(tests/perf/raw.py), starts the three services and measures sustained end-to-end throughput
and publish-to-report latency at 500 events/s. In one sync setting only (--projections-in,
default the run's last; `projections_in` in the JSON) it also fills the projections to
--projection-events, times the summary grid (tests/perf/grid.py: six scopes, four periods,
with and without a breakdown; p50/p95 per cell), explain and as_of, and
`qianshou reporting rebuild` with the summaries' latency during it: the long part of a run,
which says little about the sync setting. Each service's peak RSS, each stage's seconds and
the load average as it began. With --nats-nodes 3 the end-to-end throughput and
publish-to-report latency are also measured on a three-node cluster (R3 streams, sync
always), and `end_to_end_side_by_side` sets each run's figures beside the others'
(--cluster-only: the single node's end-to-end and latency only, then the cluster's).

Prints one JSON object; with --out it is also written there after every stage, so a run cut
short keeps what it measured, and a stage that fails is named in `errors` while the stages
that can still run do. Progress (stage, grid cell, elapsed) goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tests.perf import drive, fill, grid, province, raw
from tests.perf.harness import (
    Bench,
    disk_used,
    load_average,
    proc_status,
    progress,
    remove_postgres_data,
    start_servers,
    start_stack,
)

TARGETS = {  # issue 19's
    "ratio_to_raw_pipeline_min": 0.6,
    "latency_p99_ms_max": 100,
    "summary_p95_ms_max": 50,
    "rebuild_events_per_s_min": 15_000,
    "service_peak_rss_mb_max": 200,
}
PHASES = (
    "raw_ceilings",
    "end_to_end",
    "publish_to_report",
    "projection_fill",
    "summary_grid",
    "explain_and_as_of",
    "rebuild",
)
QUICK = [  # CI's size: proves the run works and counts right, measures nothing
    "--events", "2000",
    "--projection-events", "5000",
    "--latency-seconds", "2",
    "--query-rounds", "1",
    "--warmup", "0",
    "--min-rounds", "1",
    "--only", "^(county|pairing)/",
]  # fmt: skip


class Stages:
    """Wall seconds of each stage of a run and the machine's load average as it began, said
    on stderr as each begins; the run's JSON is saved after each (`checkpoint`), so a run cut
    short keeps what it measured."""

    def __init__(self, sync: str, out: dict[str, Any], checkpoint: Callable[[], None]) -> None:
        self.sync, self.out, self.checkpoint = sync, out, checkpoint
        self.seconds: dict[str, float] = out.setdefault("stage_seconds", {})
        self.load: dict[str, list[float]] = out.setdefault("stage_load_average", {})
        self.begun = time.monotonic()

    def begin(self, name: str) -> None:
        self.begun = time.monotonic()
        self.load[name] = load_average()
        progress(f"{self.sync}: {name} begins (load average {self.load[name]})")

    def done(self, name: str) -> None:
        self.seconds[name] = round(time.monotonic() - self.begun, 1)
        progress(f"{self.sync}: {name} done in {self.seconds[name]} s")
        self.checkpoint()


def raw_messages(the: province.Province, events: list[province.Event]) -> list[raw.Message]:
    """The benchmark's own events in their canonical form, as the relay would publish them."""
    now = "2026-01-01T00:00:00+00:00"
    out = []
    for e in events:
        region = the.region_of(e["agency_id"])
        body = orjson.dumps(province.canonical(e, region, now))
        out.append(
            (f"{region}.{e['agency_id']}.{e['type']}", f"{e['agency_id']}:{e['event_id']}", body)
        )
    return out


async def run_one(
    sync: str,
    args: argparse.Namespace,
    root: Path,
    out: dict[str, Any],
    checkpoint: Callable[[], None],
    projections: bool = True,
) -> None:
    """Every measurement at one NATS sync setting, on servers of its own, into `out` as each
    stage ends. Without `projections`: the raw ceilings, end-to-end and publish-to-report
    latency only (the fill, grid, probes and rebuild are the long part of a run and say
    little about the sync setting). A stage that fails is recorded in `errors` and the
    stages that can still run do, so a late failure keeps the earlier figures."""
    the = province.scaled(args.events)
    events = list(province.events(the, args.events, seed=args.seed))
    out["nats_sync_interval"] = "always" if sync == "always" else "2m (NATS default)"
    out["phases"] = list(PHASES if projections else PHASES[:3])
    errors: dict[str, str] = out.setdefault("errors", {})
    stages = Stages(sync, out, checkpoint)
    stages.begin("servers_and_raw_ceilings")
    nats_server, postgres = start_servers(root, sync)
    bench: Bench | None = None
    try:
        messages = raw_messages(the, events)
        out["raw_ceilings"] = {
            "jetstream_publish": await raw.publish_ceiling(nats_server.admin_url, messages),
            "pipeline": await raw.pipeline_ceiling(nats_server.admin_url, postgres.url, messages),
        }
        del messages
        stages.done("servers_and_raw_ceilings")
        stages.begin("stack_up")
        bench = start_stack(root, sync, nats_server, postgres)
        stages.done("stack_up")
        stages.begin("end_to_end_and_latency")
        out["end_to_end"] = await drive.sustained(bench, events, clients=args.clients)
        ceiling = out["raw_ceilings"]["pipeline"]["events_per_s"]
        out["ratio_end_to_end_to_raw_pipeline"] = round(
            out["end_to_end"]["events_per_s"] / ceiling, 3
        )
        later = province.Generator(the, seed=args.seed + 1, tag="lat").activity()
        out["publish_to_report"] = await drive.latency(bench, later, seconds=args.latency_seconds)
        stages.done("end_to_end_and_latency")
        if projections:
            await _projections(bench, the, args, out, stages, errors)
        out["peak_rss_mb"] = {
            name: proc_status(pid)["peak_rss_mb"] for name, pid in bench.pids().items()
        }
    except Exception as exc:  # the JSON keeps what the run measured before it
        errors["run"] = _said(exc)
        progress(f"{sync}: FAILED: {errors['run']}")
    finally:
        if bench is not None:
            bench.stop()
        else:
            nats_server.stop()
            postgres.stop()
    out["targets_met"] = _targets_met(out)
    checkpoint()


async def _projections(
    bench: Bench,
    the: province.Province,
    args: argparse.Namespace,
    out: dict[str, Any],
    stages: Stages,
    errors: dict[str, str],
) -> None:
    """Projections filled to --projection-events, then the grid, explain/as_of and the
    rebuild over them; each stage on its own, so one that fails leaves the others' figures."""
    how = grid.Rounds.of(args)
    how.abandon = grid.abandoner(bench.database("reporting"))
    if args.fill_without_scheduling:  # the fill's events then wait for it on EVENTS
        out["peak_rss_mb_before_fill"] = {
            name: proc_status(pid)["peak_rss_mb"] for name, pid in bench.pids().items()
        }
        bench.stack.services["scheduling"].stop()
    stages.begin("fill")
    try:
        filler = province.Generator(the, seed=args.seed + 2, tag="fill").activity()
        out["projection_fill"] = await fill.fill(
            bench, the, filler, args.projection_events, timeout_s=args.fill_timeout
        )
        out["disk_after_fill_mb"] = await disk_used(bench)
    except Exception as exc:
        errors["fill"] = _said(exc)
    stages.done("fill")
    stages.begin("summary_grid")
    try:
        out["summary_grid_ms"] = await asyncio.to_thread(grid.summary_grid, bench, the, how)
    except Exception as exc:
        errors["summary_grid"] = _said(exc)
    stages.done("summary_grid")
    stages.begin("explain_and_as_of")
    try:
        halfway = out.get("projection_fill", {}).get("halfway_recorded_at")
        out["explain_and_as_of_ms"] = await asyncio.to_thread(
            grid.explain_and_as_of, bench, the, halfway, how
        )
    except Exception as exc:
        errors["explain_and_as_of"] = _said(exc)
    stages.done("explain_and_as_of")
    stages.begin("rebuild")
    how.abandon = None  # a timed-out reader must not cancel the rebuild's statements
    try:
        rebuilt = await asyncio.to_thread(
            grid.rebuild_while_reading, bench, the, how, args.rebuild_timeout
        )
        out.update(rebuilt)
        if "error" in rebuilt["rebuild"]:
            errors["rebuild"] = rebuilt["rebuild"]["error"]
            held = out.get("projection_fill", {}).get("projection_events")
            if "killed after" in errors["rebuild"] and held:  # unfinished: slower than this
                rebuilt["rebuild"]["events_per_s_below"] = round(held / args.rebuild_timeout)
    except Exception as exc:
        errors["rebuild"] = _said(exc)
    stages.done("rebuild")


def _said(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _targets_met(run: dict[str, Any]) -> dict[str, bool]:
    """Issue 19's targets, for the figures this run has (a phase it skipped or lost is
    left out, not failed)."""
    out: dict[str, bool] = {}
    if "ratio_end_to_end_to_raw_pipeline" in run:
        out["ratio_to_raw_pipeline"] = (
            run["ratio_end_to_end_to_raw_pipeline"] >= TARGETS["ratio_to_raw_pipeline_min"]
        )
    if "publish_to_report" in run:
        p99 = run["publish_to_report"]["latency_ms"]["p99"]
        out["latency_p99"] = p99 < TARGETS["latency_p99_ms_max"]
    if "summary_grid_ms" in run:
        out["summary_p95"] = all(
            "p95" in q and q["p95"] < TARGETS["summary_p95_ms_max"]
            for q in run["summary_grid_ms"]["cells"].values()
            if "refused" not in q
        )
    if "events_per_s" in run.get("rebuild", {}):
        out["rebuild_events_per_s"] = (
            run["rebuild"]["events_per_s"] >= TARGETS["rebuild_events_per_s_min"]
        )
    if "peak_rss_mb" in run:
        out["service_rss"] = all(
            mb < TARGETS["service_peak_rss_mb_max"]
            for name, mb in run["peak_rss_mb"].items()
            if not name.startswith("nats-server")
        )
    return out


async def run_single_e2e(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """The single node's end-to-end and latency only (sync always), for the comparison."""
    return await _end_to_end(args, root, nats_nodes=1)


async def run_cluster(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """The end-to-end measurements on a three-node cluster (R3 streams, sync always): the
    same events and senders as the single node's run, then the same latency probe."""
    return await _end_to_end(args, root, nats_nodes=3)


async def _end_to_end(args: argparse.Namespace, root: Path, nats_nodes: int) -> dict[str, Any]:
    the = province.scaled(args.events)
    events = list(province.events(the, args.events, seed=args.seed))
    nats_server, postgres = start_servers(root, "always", nats_nodes=nats_nodes)
    bench: Bench | None = None
    try:
        bench = start_stack(root, "always", nats_server, postgres)
        end_to_end = await drive.sustained(bench, events, clients=args.clients)
        later = province.Generator(the, seed=args.seed + 1, tag="lat").activity()
        latency = await drive.latency(bench, later, seconds=args.latency_seconds)
        rss = {name: proc_status(pid)["peak_rss_mb"] for name, pid in bench.pids().items()}
    finally:
        if bench is not None:
            bench.stop()
        else:
            nats_server.stop()
            postgres.stop()
    return {
        "nats": "3 nodes, R3 streams, sync_interval always"
        if nats_nodes == 3
        else "1 node, R1 streams, sync_interval always",
        "end_to_end": end_to_end,
        "publish_to_report": latency,
        "peak_rss_mb": rss,
    }


def side_by_side(runs: dict[str, Any]) -> dict[str, Any]:
    """Throughput and p99 publish-to-report latency of each run, one line each."""
    return {
        name: {
            "events_per_s": r["end_to_end"]["events_per_s"],
            "latency_p99_ms": r["publish_to_report"]["latency_ms"]["p99"],
        }
        for name, r in runs.items()
        if "end_to_end" in r and "publish_to_report" in r
    }


def _clean(top: Path) -> None:
    for root in top.iterdir():
        remove_postgres_data(root)
    shutil.rmtree(top, ignore_errors=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    syncs = ["always", "default"] if args.sync == "both" else [args.sync]
    if args.cluster_only:
        syncs = []
    heavy = args.projections_in or (syncs[-1] if syncs else "")
    if syncs and heavy not in syncs:
        raise SystemExit(f"--projections-in {heavy}: this run measures only {syncs}")
    started = time.time()
    top = Path(tempfile.mkdtemp(prefix="qianshou-perf-"))
    runs: dict[str, Any] = {}

    def result() -> dict[str, Any]:
        return _result(args, runs, heavy if syncs else None, started)

    def checkpoint() -> None:
        if args.out:
            out = Path(args.out)
            partial = out.with_name(out.name + ".partial")
            partial.write_bytes(orjson.dumps(result(), option=orjson.OPT_INDENT_2))
            partial.replace(out)  # whole or not at all, if the run is killed mid-write

    try:
        if args.cluster_only and args.single_too:
            runs["always"] = await run_single_e2e(args, top / "always")
            checkpoint()
        for sync in syncs:
            runs[sync] = {}
            await run_one(sync, args, top / sync, runs[sync], checkpoint, sync == heavy)
        if args.nats_nodes == 3:
            runs["cluster-3-always"] = await run_cluster(args, top / "cluster")
            checkpoint()
    finally:
        if not args.keep:
            _clean(top)
    checkpoint()
    return result()


def _result(
    args: argparse.Namespace, runs: dict[str, Any], heavy: str | None, started: float
) -> dict[str, Any]:
    return {
        "command": "python -m tests.perf.pipeline " + " ".join(args.argv),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_now": load_average(),
        },
        "province": {
            "agencies": 50,
            "counties": 10,
            "clients": province.scaled(args.events).clients_total,
        },
        "method": [
            "end_to_end: per-agency requests of up to 500 events, 1 in 5 over NATS request/reply, "
            f"{args.clients} concurrent clients; timed from the first send until reporting's "
            "watermark (the summary's as_of row) counts every accepted event",
            "publish_to_report: HTTP requests of 10 events every 20 ms; latency from the scheduled "
            "send to the commit that makes them visible to the summary (watermark polled every 2 ms)",
            "projection_fill: canonical events published straight to EVENTS with plain nats-py "
            "(pipelined, Nats-Msg-Id), consumed by reporting; the summary queries and the rebuild "
            "run over these plus the end-to-end and latency events; disk_after_fill_mb: NATS's "
            "store folder and each service's PostgreSQL database once the fill is in",
            "summary_grid_ms: sequential GETs per cell after a warm-up; a cell stops after "
            "--cell-budget seconds once it has --min-rounds samples (one when its first request "
            "alone spent the budget; n says how many); a request past --request-timeout counts "
            "as that many ms (timed_out: the figure is above) and ends its cell; as_of "
            "probes ask for the moment half the fill had been recorded",
            "rebuild: summaries_during are the province's summary and the prefecture's year by "
            "quarter, asked in turn as fast as answered while the rebuild runs",
            "raw_ceilings: same payloads (canonical bodies of the end-to-end events), same NATS "
            "server and PostgreSQL, run before the services start",
            "stage_load_average: the machine's 1/5/15-minute load average as each stage began",
        ],
        "targets": TARGETS,
        # The fill, grid, explain/as_of and rebuild ran at this sync setting only; the
        # others measured the raw ceilings, end-to-end and publish-to-report latency.
        "projections_in": heavy,
        "runs": runs,
        "ratios_end_to_end_to_raw_pipeline": {
            sync: r["ratio_end_to_end_to_raw_pipeline"]
            for sync, r in runs.items()
            if "ratio_end_to_end_to_raw_pipeline" in r
        },
        "end_to_end_side_by_side": side_by_side(runs),
        "errors": {
            f"{sync}/{stage}": why
            for sync, r in runs.items()
            for stage, why in r.get("errors", {}).items()
        },
        "total_seconds": round(time.time() - started, 1),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.pipeline", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="end-to-end events")
    parser.add_argument("--sync", choices=["always", "default", "both"], default="both")
    parser.add_argument("--projection-events", type=int, default=1_000_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--query-rounds", type=int, default=20, help="timed requests a cell")
    parser.add_argument("--warmup", type=int, default=1, help="untimed requests a cell")
    parser.add_argument("--min-rounds", type=int, default=3)
    parser.add_argument(
        "--cell-budget", type=float, default=8.0, help="seconds a cell may take (past min-rounds)"
    )
    parser.add_argument("--only", default="", help="time only the grid cells this matches")
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=300.0,
        help="seconds a grid, explain, as_of or during-rebuild request may take; past it the "
        "request counts as that long (timed_out) and its cell ends",
    )
    parser.add_argument(
        "--grid-budget",
        type=float,
        default=0.0,
        help="seconds the whole summary grid may take; the cells after it are skipped (0: none)",
    )
    parser.add_argument(
        "--projections-in",
        choices=["always", "default"],
        default=None,
        help="the sync setting whose run fills the projections and times the grid, explain, "
        "as_of and rebuild (default: the run's last); the other only its ceilings, end-to-end "
        "and latency",
    )
    parser.add_argument(
        "--fill-timeout",
        type=float,
        default=7200.0,
        help="seconds reporting may take to hold the fill; past it the run goes on with what "
        "it holds (projection_fill.timed_out)",
    )
    parser.add_argument(
        "--fill-without-scheduling",
        action="store_true",
        help="stop scheduling before the fill (it consumes the same stream and takes a third "
        "of the CPU): a faster fill, but no scheduling figures, and the slot events "
        "scheduling would have published meanwhile never reach reporting",
    )
    parser.add_argument(
        "--rebuild-timeout",
        type=float,
        default=None,
        help="kill the rebuild after this many seconds (default: its own 3600 s deadline)",
    )
    parser.add_argument(
        "--out", default="", help="also write the JSON here, rewritten as each stage ends"
    )
    parser.add_argument(
        "--quick", action="store_true", help="CI's size (" + " ".join(QUICK) + "): counts only"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent senders")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the servers' folders")
    parser.add_argument(
        "--nats-nodes",
        type=int,
        choices=[1, 3],
        default=1,
        help="3: also run the end-to-end and latency measurements on a three-node cluster",
    )
    parser.add_argument(
        "--cluster-only",
        action="store_true",
        help="with --nats-nodes 3: skip the single node's ceilings, fill and rebuild, and "
        "run only its end-to-end and latency beside the cluster's",
    )
    args = parser.parse_args(QUICK + argv if "--quick" in argv else argv)
    args.argv = argv
    args.single_too = True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(list(sys.argv[1:] if argv is None else argv))
    result = asyncio.run(run(args))
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
