"""A PostgreSQL server the project owns: its own data folder and port.

Uses the machine's PostgreSQL binaries when there are any (Debian's postgresql package,
or `pg_config --bindir`); otherwise the binaries of the `pgserver` wheel (installed by
`deploy/dev` from this project's `local-postgres` extra). PostgreSQL refuses to run as
root, so as root the server runs as the `postgres` user (created if missing).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path


class PostgresError(RuntimeError):
    pass


def find_binaries() -> tuple[Path, str]:
    """The folder holding initdb and postgres, and where it came from."""
    candidates: list[tuple[Path, str]] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append((Path(out.stdout.strip()), "pg_config"))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    candidates += [(Path(p), "the machine's PostgreSQL") for p in reversed(versions)]
    with contextlib.suppress(ImportError):
        import pgserver

        candidates.append(
            (Path(pgserver.__file__).parent / "pginstall" / "bin", "the pgserver wheel")
        )
    for folder, origin in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder, origin
    raise PostgresError(
        "no PostgreSQL binaries found: install Debian's postgresql package, or run "
        "`pip install -e .[local-postgres]` (deploy/dev does this by itself), or set DATABASE_URL"
    )


def _run_as() -> list[str]:
    """The command prefix that runs a PostgreSQL binary as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


def _owner_can_reach(folder: Path) -> bool:
    if os.geteuid() != 0:
        return True
    probe = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-w", str(folder)],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


class LocalPostgres:
    """initdb on first start, then `postgres` in the foreground as a child process."""

    def __init__(self, data_dir: Path, port: int):
        self.port = port
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        # Where the cluster really lives: data_dir, or a stand-in under /var/tmp when the
        # postgres user cannot reach data_dir (see _prepare_folder).
        self.folder = data_dir
        self.bindir, self.origin = find_binaries()
        self.prefix = _run_as()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _prepare_folder(self) -> Path:
        folder = self.data_dir
        folder.mkdir(parents=True, exist_ok=True)
        if self.prefix:
            shutil.chown(folder, "postgres", "postgres")
            if not _owner_can_reach(folder):
                # A checkout under a private home folder: keep the cluster where the
                # postgres user can reach it, named after the checkout so it is reused.
                digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
                folder = Path("/var/tmp") / f"qianshou-pg-{digest}"
                folder.mkdir(parents=True, exist_ok=True)
                shutil.chown(folder, "postgres", "postgres")
        folder.chmod(0o700)
        self.folder = folder
        return folder

    def start(self, timeout_s: float = 30.0) -> None:
        folder = self._prepare_folder()
        if not (folder / "PG_VERSION").exists():
            subprocess.run(
                [
                    *self.prefix,
                    str(self.bindir / "initdb"),
                    "-D",
                    str(folder),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
            )
        log_path = folder / "server.log"
        self.process = subprocess.Popen(
            [
                *self.prefix,
                str(self.bindir / "postgres"),
                "-D",
                str(folder),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={folder}",
                "-c",
                "synchronous_commit=on",
                "-c",
                "fsync=on",
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(log_path, "ab"),
            start_new_session=True,
        )
        self._wait_ready(folder, timeout_s)

    def _wait_ready(self, folder: Path, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = (folder / "server.log").read_text(errors="replace")[-2000:]
                raise PostgresError(f"PostgreSQL exited at start:\n{tail}")
            probe = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise PostgresError(f"PostgreSQL did not accept connections within {timeout_s}s")

    def stop(self, timeout_s: float = 20.0) -> None:
        """Fast shutdown (SIGINT): running transactions roll back, committed data stays."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, 2)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def remove(self) -> None:
        """Stop and delete the cluster: for throw-away servers (tests, benchmarks). The
        stand-in folder under /var/tmp is not inside any temporary folder its caller
        removes, so without this every test run would leave a whole cluster behind."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
