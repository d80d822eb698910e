"""The chaos run: traffic from several agencies over HTTP and NATS while services are
SIGKILLed and NATS and PostgreSQL restart, then every store measured against the ledger.

    python -m tests.faults.chaos --events 20000 --kills 12 --seed 7 [--negative-control]

prints one JSON summary (sent, acknowledged, unknown, kills, restarts, lost, duplicated,
dead-lettered, ...) and exits 0 when lost = duplicated = phantom = 0, the report equals
the ground truth, every poison message was dead-lettered and the consumers caught up.
Everything runs on loopback, on its own NATS and PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import orjson

from deploy.natsauth import NatsUsers, agency_user
from deploy.natsserver import LocalNats, NatsCluster, free_port
from deploy.postgres import LocalPostgres
from deploy.stack import SERVICES, Stack
from shared.settings import nats_servers, with_database
from shared.subjects import inbox_prefix
from shared.tokens import Principal, issue
from tests.faults import checks, verify
from tests.faults.cluster import ClusterChaos
from tests.faults.ledger import Ledger
from tests.faults.probe import ElectionProbe, copies
from tests.faults.rogue import poison_during, repeat_after_window
from tests.faults.schedule import Chaos
from tests.faults.traffic import Frontends, http_batches, paced
from tests.faults.workload import AGENCIES, Batch, build

SECRET = "chaos-signing-secret-loopback-only"
PII_KEY = "22" * 32
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ChaosConfig:
    events: int = 3000
    kills: int = 4
    seed: int = 7
    send_s: float = 40.0  # the span over which traffic (and chaos) is spread
    concurrency: int = 4
    poison: int = 6
    stream_repeats: int = 20
    conflict_probes: int = 20
    negative_control: bool = False
    drain_timeout_s: float = 300.0
    keep: bool = False
    # The cluster run (tests/faults/cluster.py): NATS kills instead of service kills.
    nats_nodes: int = 1
    two_down_s: float = 8.0
    max_backlog: int | None = None  # INTAKE_MAX_BACKLOG for the services
    # Its negative control: the relays publish without Nats-Msg-Id, so a window retried
    # after an election lands twice on EVENTS.
    no_msg_ids: bool = False


def token(role: str, agency_id: str | None = None) -> str:
    return issue(SECRET, Principal(role=role, agency_id=agency_id), 24 * 3600)  # type: ignore[arg-type]


def make_stack(
    folder: Path, nats_url: str, pg_url: str, config: ChaosConfig, users: NatsUsers
) -> Stack:
    env = {
        "QIANSHOU_TOKEN_SECRETS": SECRET,
        "QIANSHOU_PII_KEY": PII_KEY,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    if config.negative_control:
        env["QIANSHOU_UNSAFE_NO_IDEMPOTENCY"] = "1"
    if config.no_msg_ids:
        env["QIANSHOU_UNSAFE_NO_MSG_ID"] = "1"
    if config.max_backlog is not None:
        env["INTAKE_MAX_BACKLOG"] = str(config.max_backlog)
    return Stack(
        data_dir=folder / "data",
        nats_url=nats_url,
        database_url=pg_url,
        ports={name: free_port() for name in SERVICES},
        db_prefix="chaos",
        nats_users=users,
        log_dir=folder / "logs",
        extra_env=env,
    )


async def run(config: ChaosConfig, say: Any = print) -> dict[str, Any]:
    """One whole chaos run; returns the summary (see verify.summarise)."""
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="qianshou-chaos-"))
    pg = LocalPostgres(folder / "pg", free_port())
    # Authorization on, as shipped: a user per service and per agency.
    users = NatsUsers.load(folder / "nats-users.json")
    for agency in AGENCIES:
        users.add_agency(agency.agency_id)
    nats_server: LocalNats | NatsCluster
    if config.nats_nodes > 1:
        ports = [free_port() for _ in range(config.nats_nodes)]
        nats_server = NatsCluster(folder / "nats-cluster", ports, users=users)
    else:
        nats_server = LocalNats(folder / "nats", free_port(), users=users)
    await asyncio.to_thread(pg.start)
    await asyncio.to_thread(nats_server.start)
    stack = make_stack(folder, nats_server.url, pg.url, config, users)
    ok = False
    try:
        await asyncio.to_thread(stack.up, timeout_s=90.0)
        say(f"stack up in {folder} ({time.monotonic() - started:.1f}s)")
        summary = await _drive(config, stack, nats_server, pg)
        summary["seconds"] = round(time.monotonic() - started, 1)
        summary["workdir"] = str(folder)
        ok = bool(summary["ok"])
        return summary
    finally:
        await asyncio.to_thread(stack.stop)
        await asyncio.to_thread(nats_server.stop)
        if ok and not config.keep:
            await asyncio.to_thread(pg.remove)
            shutil.rmtree(folder, ignore_errors=True)
        else:  # kept to look into, the cluster with it
            await asyncio.to_thread(pg.stop)


async def _drive(
    config: ChaosConfig, stack: Stack, nats_server: LocalNats | NatsCluster, pg: LocalPostgres
) -> dict[str, Any]:
    rng = random.Random(config.seed)
    ledger = Ledger()
    assert nats_server.users is not None
    options: dict[str, Any] = {
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.2,
        "error_cb": _quiet,  # NATS restarts on purpose; the ledger records what failed
    }
    servers = nats_servers(nats_server.url)
    nc = await nats.connect(
        servers=servers,
        name="chaos",
        user="admin",
        password=nats_server.users.services["admin"],
        **options,
    )
    js = nc.jetstream()
    agency_clients = {
        a.agency_id: await nats.connect(
            servers=servers,
            user=agency_user(a.agency_id),
            password=nats_server.users.agencies[a.agency_id],
            inbox_prefix=inbox_prefix(a.agency_id).encode(),
            **options,
        )
        for a in AGENCIES
    }
    frontends = Frontends(
        stack.services["intake"].url, agency_clients, lambda a: token("agency", a), ledger
    )
    work = build(config.events, config.seed)
    urls = {s: with_database(pg.url, f"{stack.db_prefix}_{s}") for s in SERVICES}
    chaos: Chaos | ClusterChaos
    probe: ElectionProbe | None = None
    if isinstance(nats_server, NatsCluster):
        probe = ElectionProbe(js, with_msg_ids=not config.no_msg_ids)
        chaos = ClusterChaos(
            stack,
            nats_server,
            js,
            random.Random(config.seed + 1),
            backlog=lambda: checks.outbox_backlog(urls),
            two_down_s=config.two_down_s,
            probe=probe,
        )
    else:
        chaos = Chaos(stack, nats_server, pg, random.Random(config.seed + 1))
    timing: dict[str, float] = {}
    try:
        await _register_agencies(frontends, work.setup)
        await asyncio.gather(
            _timed(paced(frontends, work.batches, config.send_s, config.concurrency), timing),
            chaos.run(config.kills, config.send_s),
            poison_during(js, ledger, random.Random(config.seed + 2), config.poison, config.send_s),
        )
        late = await _late_phase(config, frontends, ledger, rng, work.batches)
        await repeat_after_window(js, ledger, rng, config.stream_repeats)
        drained = await verify.wait_until_drained(js, urls, config.drain_timeout_s)
        recorded = await verify.resolve_unknowns(
            frontends.http, token("admin"), ledger.keys("unknown")
        )
        result = await verify.summarise(
            ledger, recorded, js, urls, stack.services["reporting"].url, token("admin")
        )
        result.update(await verify.reconcile(stack))
        agrees = await verify.resolver_agrees(frontends.http, token("admin"), ledger)
        result.update(chaos.summary(), **late, drained=drained, timeline=chaos.timeline)
        result["resolver_agrees"] = agrees
        result["traffic_seconds"] = round(timing["seconds"], 1)
        result["duplicates_resent"] = sum(len(b.events) for b in work.batches if b.repeat)
        result["nats_nodes"] = config.nats_nodes
        if probe is not None:
            result.update(await copies(js))
            result["probe_published"] = probe.published
            result["probe_failed_windows"] = probe.failed_windows
        result["ok"] = verify.passed(result)
        return result
    finally:
        await frontends.close()
        await nc.close()


async def _timed(work: Any, timing: dict[str, float]) -> None:
    start = time.monotonic()
    await work
    timing["seconds"] = time.monotonic() - start


async def _quiet(exc: Exception) -> None:
    return None


async def _register_agencies(frontends: Frontends, setup: list[dict[str, Any]]) -> None:
    """The agencies first, each by its own token; retried until all are acknowledged."""
    for _ in range(20):
        for b in http_batches({e["agency_id"]: [e] for e in setup}):
            await frontends.send(b)
        keys = set(frontends.ledger.keys("acknowledged"))
        if all((e["agency_id"], e["event_id"]) in keys for e in setup):
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("intake did not acknowledge the agency registrations")


async def _late_phase(
    config: ChaosConfig,
    frontends: Frontends,
    ledger: Ledger,
    rng: random.Random,
    batches: list[Batch],
) -> dict[str, Any]:
    """After the chaos: re-send early events (the oldest, possibly beyond the dedup window),
    retry half of the unknown ones (as a frontend would), and probe conflicts."""
    early = [e for b in batches[: max(1, len(batches) // 10)] for e in b.events]
    resend = rng.sample(early, min(len(early), max(20, config.events // 50)))
    now = time.monotonic()
    ages = [now - ledger.entries[(e["agency_id"], e["event_id"])].first_sent for e in resend]
    unknown = [ledger.entries[k].event for k in ledger.keys("unknown")]
    retry = rng.sample(unknown, len(unknown) // 2)
    for batch in http_batches(_by_agency(resend + retry)):
        await frontends.send(batch)
    acknowledged = ledger.keys("acknowledged")
    for k in rng.sample(acknowledged, min(config.conflict_probes, len(acknowledged))):
        changed = {**ledger.entries[k].event, "occurred_at": "2024-12-31T23:59:00+08:00"}
        outcome = (await frontends._post(_single(changed)))[0]
        ledger.conflict_probes[outcome] += 1
    return {
        "late_resent": len(resend),
        "late_resent_after_window": sum(a > 120.0 for a in ages),
        "late_resent_oldest_s": round(max(ages, default=0.0), 1),
        "unknown_retried": len(retry),
    }


def _by_agency(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        out.setdefault(e["agency_id"], []).append(e)
    return out


def _single(event: dict[str, Any]) -> Batch:
    return Batch("http", event["agency_id"], [event])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--send-seconds", type=float, default=None)
    parser.add_argument("--negative-control", action="store_true")
    parser.add_argument(
        "--nats-nodes",
        type=int,
        choices=[1, 3],
        default=1,
        help="3: the cluster run (NATS nodes killed by role, one window with two down)",
    )
    parser.add_argument(
        "--no-msg-ids",
        action="store_true",
        help="the cluster run's negative control: relays publish without Nats-Msg-Id",
    )
    parser.add_argument("--max-backlog", type=int, default=None, help="INTAKE_MAX_BACKLOG")
    parser.add_argument("--two-down-seconds", type=float, default=8.0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    send_s = args.send_seconds or max(40.0, args.events / 100.0)
    config = ChaosConfig(
        events=args.events,
        kills=args.kills,
        seed=args.seed,
        send_s=send_s,
        poison=max(6, args.events // 2000),
        negative_control=args.negative_control,
        keep=args.keep,
        nats_nodes=args.nats_nodes,
        no_msg_ids=args.no_msg_ids,
        max_backlog=args.max_backlog,
        two_down_s=args.two_down_seconds,
    )
    summary = asyncio.run(run(config, say=lambda s: print(s, file=sys.stderr)))
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
