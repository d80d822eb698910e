"""The benchmark of issue 8: how fast an agency's event becomes a provincial figure, against
what plain nats-py and asyncpg reach on the same machine.

    python -m tests.perf.pipeline --events 100000 [--sync always|default|both]
                                  [--projection-events 1000000] [--nats-nodes 3 [--cluster-only]]
    python -m tests.perf.pipeline --quick        # CI's size: counts only

For each NATS sync setting it starts its own NATS and PostgreSQL, measures the raw ceilings
(tests/perf/raw.py), starts the three services and measures: sustained end-to-end
throughput, publish-to-report latency at 500 events/s, projections filled to
--projection-events, the summary grid (tests/perf/grid.py: six scopes, four periods, with
and without a breakdown; p50/p95 per cell), explain and as_of, `qianshou reporting rebuild`
with the summaries' latency during it, and each service's peak RSS. With --nats-nodes 3 the end-to-end throughput and publish-to-report
latency are also measured on a three-node cluster (R3 streams, sync always), and
`end_to_end_side_by_side` sets each run's figures beside the others' (--cluster-only: the
single node's end-to-end and latency only, then the cluster's). Prints one JSON object.
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
from pathlib import Path
from typing import Any

import orjson

from tests.perf import drive, fill, grid, province, raw
from tests.perf.harness import (
    Bench,
    proc_status,
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
    """Wall seconds of each stage of a run, to say where a run's time goes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last = time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self.last, 1)
        self.last = now


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


async def run_one(sync: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Every measurement at one NATS sync setting, on servers of its own."""
    the = province.scaled(args.events)
    events = list(province.events(the, args.events, seed=args.seed))
    stages = Stages()
    nats_server, postgres = start_servers(root, sync)
    bench: Bench | None = None
    try:
        messages = raw_messages(the, events)
        ceilings = {
            "jetstream_publish": await raw.publish_ceiling(nats_server.admin_url, messages),
            "pipeline": await raw.pipeline_ceiling(nats_server.admin_url, postgres.url, messages),
        }
        del messages
        stages.done("servers_and_raw_ceilings")
        bench = start_stack(root, sync, nats_server, postgres)
        stages.done("stack_up")
        end_to_end = await drive.sustained(bench, events, clients=args.clients)
        later = province.Generator(the, seed=args.seed + 1, tag="lat").activity()
        latency = await drive.latency(bench, later, seconds=args.latency_seconds)
        stages.done("end_to_end_and_latency")
        filler = province.Generator(the, seed=args.seed + 2, tag="fill").activity()
        filled = await fill.fill(bench, the, filler, args.projection_events)
        stages.done("fill")
        how = grid.Rounds(
            args.query_rounds, args.warmup, args.min_rounds, args.cell_budget, args.only
        )
        queries = grid.summary_grid(bench, the, how)
        stages.done("summary_grid")
        probes = grid.explain_and_as_of(bench, the, filled["halfway_recorded_at"], how)
        stages.done("explain_and_as_of")
        rebuilt = grid.rebuild_while_reading(bench, the)
        stages.done("rebuild")
        rss = {name: proc_status(pid)["peak_rss_mb"] for name, pid in bench.pids().items()}
    finally:
        if bench is not None:
            bench.stop()
        else:
            nats_server.stop()
            postgres.stop()
    ratio = end_to_end["events_per_s"] / ceilings["pipeline"]["events_per_s"]
    return {
        "nats_sync_interval": "always" if sync == "always" else "2m (NATS default)",
        "raw_ceilings": ceilings,
        "end_to_end": end_to_end,
        "ratio_end_to_end_to_raw_pipeline": round(ratio, 3),
        "publish_to_report": latency,
        "projection_fill": filled,
        "summary_grid_ms": queries,
        "explain_and_as_of_ms": probes,
        **rebuilt,
        "peak_rss_mb": rss,
        "stage_seconds": stages.seconds,
        "targets_met": _targets_met(ratio, latency, queries["cells"], rebuilt, rss),
    }


def _targets_met(
    ratio: float,
    latency: dict[str, Any],
    queries: dict[str, Any],
    rebuilt: dict[str, Any],
    rss: dict[str, float],
) -> dict[str, bool]:
    return {
        "ratio_to_raw_pipeline": ratio >= TARGETS["ratio_to_raw_pipeline_min"],
        "latency_p99": latency["latency_ms"]["p99"] < TARGETS["latency_p99_ms_max"],
        "summary_p95": all(
            q["p95"] < TARGETS["summary_p95_ms_max"] for q in queries.values() if "p95" in q
        ),
        "rebuild_events_per_s": rebuilt["rebuild"]["events_per_s"]
        >= TARGETS["rebuild_events_per_s_min"],
        "service_rss": all(
            mb < TARGETS["service_peak_rss_mb_max"]
            for name, mb in rss.items()
            if name != "nats-server"
        ),
    }


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
    }


def _clean(top: Path) -> None:
    for root in top.iterdir():
        remove_postgres_data(root)
    shutil.rmtree(top, ignore_errors=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    syncs = ["always", "default"] if args.sync == "both" else [args.sync]
    if args.cluster_only:
        syncs = []
    started = time.time()
    top = Path(tempfile.mkdtemp(prefix="qianshou-perf-"))
    runs: dict[str, Any] = {}
    try:
        if args.cluster_only and args.single_too:
            runs["always"] = await run_single_e2e(args, top / "always")
        for sync in syncs:
            runs[sync] = await run_one(sync, args, top / sync)
        if args.nats_nodes == 3:
            runs["cluster-3-always"] = await run_cluster(args, top / "cluster")
    finally:
        if not args.keep:
            _clean(top)
    return {
        "command": "python -m tests.perf.pipeline " + " ".join(args.argv),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
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
            "run over these plus the end-to-end and latency events",
            "summary_grid_ms: sequential GETs per cell after a warm-up; a cell stops after "
            "--cell-budget seconds once it has --min-rounds samples (n says how many); as_of "
            "probes ask for the moment half the fill had been recorded",
            "rebuild: summaries_during are the province's summary and the prefecture's year by "
            "quarter, asked in turn as fast as answered while the rebuild runs",
            "raw_ceilings: same payloads (canonical bodies of the end-to-end events), same NATS "
            "server and PostgreSQL, run before the services start",
        ],
        "targets": TARGETS,
        "runs": runs,
        "ratios_end_to_end_to_raw_pipeline": {
            sync: r["ratio_end_to_end_to_raw_pipeline"]
            for sync, r in runs.items()
            if "ratio_end_to_end_to_raw_pipeline" in r
        },
        "end_to_end_side_by_side": side_by_side(runs),
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
