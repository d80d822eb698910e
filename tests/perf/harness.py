"""The benchmark's own servers and stack, and what it reads of them: the report's watermark,
each process's CPU time and peak RSS."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from deploy.natsauth import NatsUsers
from deploy.natsserver import LocalNats, NatsCluster, free_port
from deploy.postgres import LocalPostgres
from deploy.stack import SERVICES, Stack
from shared.settings import with_database
from shared.tokens import Principal, issue

SECRET = "perf-signing-secret-of-the-benchmark-stack"
PII_KEY = "11" * 32
REPO = Path(__file__).resolve().parents[2]
# NATS's own default when sync_interval is not configured.
SYNC = {"always": "always", "default": "2m"}


@dataclass
class Bench:
    """NATS (at one sync setting), PostgreSQL and the three services, on free ports."""

    root: Path
    sync: str
    nats: LocalNats | NatsCluster
    postgres: LocalPostgres
    stack: Stack

    def database(self, service: str) -> str:
        return with_database(self.postgres.url, f"bench_{service}")

    def token(self, role: str = "agency", **who: str) -> str:
        return issue(SECRET, Principal(role=role, **who))  # type: ignore[arg-type]

    def url(self, service: str) -> str:
        return self.stack.services[service].url

    def pids(self) -> dict[str, int]:
        out = {
            n: p.process.pid for n, p in self.stack.services.items() if p.process and p.running()
        }
        if isinstance(self.nats, NatsCluster):
            for node in self.nats.nodes:
                if node.process:
                    out[f"nats-server {node.server_name}"] = node.process.pid
        elif self.nats.process:
            out["nats-server"] = self.nats.process.pid
        return out

    def stop(self) -> None:
        self.stack.stop()
        self.nats.stop()
        self.postgres.stop()


AGENCIES = 50  # ids ag000..ag049, as tests/perf/province.py names them


def start_servers(
    root: Path, sync: str, nats_nodes: int = 1
) -> tuple[LocalNats | NatsCluster, LocalPostgres]:
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    # Authorization on, as shipped: a user per service and per agency of the province.
    users = NatsUsers.load(root / "nats-users.json")
    for i in range(AGENCIES):
        users.add_agency(f"ag{i:03d}")
    nats: LocalNats | NatsCluster
    if nats_nodes > 1:  # R3 streams: the services see the cluster and ask for three
        ports = [free_port() for _ in range(nats_nodes)]
        nats = NatsCluster(root / "nats-cluster", ports, sync_interval=SYNC[sync], users=users)
    else:
        nats = LocalNats(root / "nats", free_port(), sync_interval=SYNC[sync], users=users)
    nats.start()
    postgres = LocalPostgres(root / "pg", free_port())
    postgres.start()
    return nats, postgres


def remove_postgres_data(root: Path) -> None:
    """The PostgreSQL folder start_servers(root) used: deploy/postgres.py keeps a cluster
    the postgres user cannot reach under root in /var/tmp, named after its folder, and the
    benchmark's temporary root is one of those (each run would leave a cluster behind)."""
    folder = root / "pg"
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    shutil.rmtree(Path("/var/tmp") / f"qianshou-pg-{digest}", ignore_errors=True)


def start_stack(
    root: Path, sync: str, nats: LocalNats | NatsCluster, postgres: LocalPostgres
) -> Bench:
    stack = Stack(
        data_dir=root / "data",
        nats_url=nats.url,
        database_url=postgres.url,
        ports={name: free_port() for name in SERVICES},
        db_prefix="bench",
        nats_users=nats.users,
        log_dir=root / "logs",
        extra_env={
            "QIANSHOU_TOKEN_SECRETS": SECRET,
            "QIANSHOU_PII_KEY": PII_KEY,
            "PYTHONPATH": str(REPO),
        },
    )
    bench = Bench(root, sync, nats, postgres, stack)
    try:
        stack.up(timeout_s=120)
    except Exception:
        bench.stop()
        raise
    return bench


def proc_status(pid: int) -> dict[str, float]:
    """Peak RSS (VmHWM, MB) and CPU seconds (user + system) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "peak_rss_mb": round(hwm / 1024, 1),
        "cpu_s": (int(fields[11]) + int(fields[12])) / ticks,
    }


def cpu_seconds(bench: Bench) -> dict[str, float]:
    return {name: proc_status(pid)["cpu_s"] for name, pid in bench.pids().items()}


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before.get(name, 0.0), 1) for name in after}


class Watermark:
    """Reporting's watermark row (what the summary's as_of reads), polled on its own connection."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    @classmethod
    async def open(cls, bench: Bench) -> Watermark:
        return cls(await asyncpg.connect(bench.database("reporting")))

    async def read(self) -> tuple[int, Any]:
        row = await self.conn.fetchrow("SELECT events, recorded_at FROM watermark")
        return (int(row["events"]), row["recorded_at"]) if row else (0, None)

    async def wait_for(self, events: int, timeout_s: float, interval_s: float = 0.01) -> float:
        """Wall time (time.time()) at which the projections first hold `events` events."""
        deadline = time.monotonic() + timeout_s
        while (await self.read())[0] < events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reporting holds {(await self.read())[0]} of {events} events")
            await asyncio.sleep(interval_s)
        return time.time()

    async def close(self) -> None:
        await self.conn.close()


def percentiles(values: list[float], points: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles (ms) of `values` (ms)."""
    ordered = sorted(values)
    if not ordered:
        return {}
    out = {
        f"p{p}": round(ordered[min(len(ordered) - 1, (len(ordered) * p) // 100)], 1) for p in points
    }
    out["max"] = round(ordered[-1], 1)
    return out


def progress(message: str) -> None:
    """One line on stderr, for whoever watches a long run (stdout carries its JSON)."""
    print(
        f"[perf {time.strftime('%H:%M:%S', time.gmtime())}Z] {message}", file=sys.stderr, flush=True
    )


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages: a loaded machine shows in the figures."""
    return [round(x, 2) for x in os.getloadavg()]


def folder_mb(folder: Path) -> float:
    """Disk used by the files under `folder` (MB), as du counts it (allocated blocks)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_blocks * 512
        except OSError:  # a file the server removed while we walked
            continue
    return round(total / 2**20, 1)


async def disk_used(bench: Bench) -> dict[str, float]:
    """MB on disk of NATS's store (its folder) and of each service's PostgreSQL database."""
    store = bench.nats.data_dir if isinstance(bench.nats, LocalNats) else bench.root
    out = {"nats_store_mb": folder_mb(store)}
    conn = await asyncpg.connect(bench.database("reporting"))
    try:
        for service in SERVICES:
            size = await conn.fetchval("SELECT pg_database_size($1)", f"bench_{service}")
            out[f"postgres_{service}_mb"] = round(size / 2**20, 1)
    finally:
        await conn.close()
    return out
