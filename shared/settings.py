"""Configuration from the environment. Every variable, its default and its meaning is listed
in README.md ("Configuration"); keep the two in step."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SERVICE_PORTS = {"intake": 8081, "scheduling": 8082, "reporting": 8083}
LOCAL_NATS_PORT = 4223  # not 4222: that is where a distribution's own NATS usually listens
LOCAL_PG_PORT = 5433


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """Where the local stack keeps NATS and PostgreSQL data and its secrets: `.qianshou` in
    the checkout, whatever folder a command is run from (a second folder would mean a
    second token secret and PII key, and every token and ciphertext would stop working)."""
    return Path(_env("QIANSHOU_DATA_DIR", str(PROJECT_ROOT / ".qianshou"))).resolve()


def service_port(name: str) -> int:
    """A service's HTTP port: <NAME>_PORT, else its default (8081-8083)."""
    return int(_env(f"{name.upper()}_PORT", str(SERVICE_PORTS[name])))


def local_ports() -> tuple[int, int]:
    """Where `qianshou up` starts its own NATS (a cluster: this port and the next two) and
    PostgreSQL: QIANSHOU_NATS_PORT, QIANSHOU_PG_PORT."""
    return (
        int(_env("QIANSHOU_NATS_PORT", str(LOCAL_NATS_PORT))),
        int(_env("QIANSHOU_PG_PORT", str(LOCAL_PG_PORT))),
    )


def nats_url() -> str:
    """One server, or several comma-separated (the nodes of a cluster)."""
    return _env("NATS_URL", f"nats://127.0.0.1:{LOCAL_NATS_PORT}")


def nats_servers(url: str | None = None) -> list[str]:
    """NATS_URL as the list nats-py wants: it does not split a comma-separated string
    itself, and with one URL the client could never fail over to another node."""
    servers = [s.strip() for s in (nats_url() if url is None else url).split(",")]
    servers = [s for s in servers if s]
    if not servers:
        raise ValueError("NATS_URL names no server")
    return servers


def nats_replicas() -> int | None:
    """Replicas of the streams and buckets the services create: NATS_REPLICAS (1, 3 or 5),
    or None ("auto": three when the server says it is in a cluster of three or more)."""
    value = _env("NATS_REPLICAS", "auto")
    if value == "auto":
        return None
    replicas = int(value)
    if replicas not in (1, 3, 5):
        raise ValueError("NATS_REPLICAS is 1, 3, 5 or auto")
    return replicas


def server_url() -> str:
    """The PostgreSQL server every service's database lives on (the database name is ignored)."""
    return _env("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{LOCAL_PG_PORT}/postgres")


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@dataclass(frozen=True)
class ServiceSettings:
    """What one service process needs to run."""

    name: str
    host: str
    port: int
    database_url: str
    nats_url: str
    nats_user: str | None
    nats_password: str | None
    token_secrets: tuple[str, ...]

    @classmethod
    def from_env(cls, name: str) -> ServiceSettings:
        upper = name.upper()
        prefix = _env("QIANSHOU_DB_PREFIX", "qianshou")
        database_url = _env(
            f"{upper}_DATABASE_URL", with_database(server_url(), f"{prefix}_{name}")
        )
        return cls(
            name=name,
            host=_env("QIANSHOU_HOST", "127.0.0.1"),
            port=service_port(name),
            database_url=database_url,
            nats_url=nats_url(),
            nats_user=nats_credentials(name)[0],
            nats_password=nats_credentials(name)[1],
            token_secrets=token_secrets(),
        )


def nats_credentials(name: str) -> tuple[str | None, str | None]:
    """A service's (or "admin"'s) NATS user: from <NAME>_NATS_USER / _PASSWORD, else from
    the local stack's users file, else none (a server without authorization)."""
    upper = name.upper()
    user = os.environ.get(f"{upper}_NATS_USER") or None
    if user:
        return user, os.environ.get(f"{upper}_NATS_PASSWORD") or None
    users_file = data_dir() / "secrets" / "nats-users.json"
    if users_file.exists():
        password = json.loads(users_file.read_text()).get("services", {}).get(name)
        if password:
            return name, password
    return None, None


def token_secrets() -> tuple[str, ...]:
    """Signing secrets for HTTP tokens: the first signs, all verify (for key rotation).

    From QIANSHOU_TOKEN_SECRETS (comma-separated) or else the local stack's secret file,
    created on first use.
    """
    configured = [s.strip() for s in os.environ.get("QIANSHOU_TOKEN_SECRETS", "").split(",")]
    configured = [s for s in configured if s]
    if configured:
        return tuple(configured)
    return (local_secret("token-secret"),)


def local_secret(filename: str) -> str:
    """A random secret kept in the data folder, readable by its owner only."""
    path = data_dir() / "secrets" / filename
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the stack made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(os.urandom(32).hex())
    return path.read_text().strip()
