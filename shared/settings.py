"""Configuration: the one place the environment is read.

`Settings.from_env(service)` reads every variable once into typed sections; the rest of the
code is handed those sections. Every variable, its default and its meaning is listed in
docs/configuration.md, and tests/unit/test_settings.py checks that table against what is
read here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SERVICE_PORTS = {"intake": 8081, "scheduling": 8082, "reporting": 8083}
LOCAL_NATS_PORT = 4223  # not 4222: that is where a distribution's own NATS usually listens
LOCAL_PG_PORT = 5433
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Env:
    """The environment as configuration sees it: blank counts as unset."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ

    def text(self, name: str, default: str = "") -> str:
        return self.environ.get(name, "").strip() or default

    def optional(self, name: str) -> str | None:
        return self.text(name) or None

    def number(self, name: str, default: float) -> float:
        return float(self.text(name) or default)

    def integer(self, name: str, default: int) -> int:
        return int(self.text(name) or default)


def rebuild_batch(env: Env) -> int:
    """Refused at start: a rebuild fetching 0 (or fewer) events at a time would never end."""
    batch = env.integer("REPORTING_REBUILD_BATCH", 5000)
    if batch <= 0:
        raise ValueError(f"REPORTING_REBUILD_BATCH is {batch}: it must be at least 1")
    return batch


def data_dir(env: Env | None = None) -> Path:
    """Where the local stack keeps NATS and PostgreSQL data and its secrets: `.qianshou` in
    the checkout, whatever folder a command is run from (a second folder would mean a
    second token secret and PII key, and every token and ciphertext would stop working)."""
    env = env or Env()
    return Path(env.text("QIANSHOU_DATA_DIR", str(PROJECT_ROOT / ".qianshou"))).resolve()


def nats_url(env: Env | None = None) -> str:
    """One server, or several comma-separated (the nodes of a cluster)."""
    return (env or Env()).text("NATS_URL", f"nats://127.0.0.1:{LOCAL_NATS_PORT}")


def service_port(name: str, env: Env | None = None) -> int:
    """A service's HTTP port: <NAME>_PORT, else its default (8081-8083)."""
    return (env or Env()).integer(f"{name.upper()}_PORT", SERVICE_PORTS.get(name, 0))


def local_ports(env: Env | None = None) -> tuple[int, int]:
    """Where `qianshou up` starts its own NATS (a cluster: this port and the next two) and
    PostgreSQL: QIANSHOU_NATS_PORT, QIANSHOU_PG_PORT."""
    env = env or Env()
    return (
        env.integer("QIANSHOU_NATS_PORT", LOCAL_NATS_PORT),
        env.integer("QIANSHOU_PG_PORT", LOCAL_PG_PORT),
    )


def nats_servers(url: str | None = None) -> list[str]:
    """NATS_URL as the list nats-py wants: it does not split a comma-separated string
    itself, and with one URL the client could never fail over to another node."""
    servers = [s.strip() for s in (nats_url() if url is None else url).split(",")]
    servers = [s for s in servers if s]
    if not servers:
        raise ValueError("NATS_URL names no server")
    return servers


def nats_replicas(env: Env | None = None) -> int | None:
    """Replicas of the streams and buckets the services create: NATS_REPLICAS (1, 3 or 5),
    or None ("auto": three when the server says it is in a cluster of three or more)."""
    value = (env or Env()).text("NATS_REPLICAS", "auto")
    if value == "auto":
        return None
    replicas = int(value)
    if replicas not in (1, 3, 5):
        raise ValueError("NATS_REPLICAS is 1, 3, 5 or auto")
    return replicas


def server_url(env: Env | None = None) -> str:
    """The PostgreSQL server every service's database lives on (the database name is ignored)."""
    default = f"postgresql://postgres@127.0.0.1:{LOCAL_PG_PORT}/postgres"
    return (env or Env()).text("DATABASE_URL", default)


def external_servers(env: Env | None = None) -> tuple[str | None, str | None]:
    """NATS_URL and DATABASE_URL as set (None: the local stack starts its own)."""
    env = env or Env()
    return env.optional("NATS_URL"), env.optional("DATABASE_URL")


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@dataclass(frozen=True)
class NatsSettings:
    url: str  # one server, or several comma-separated
    user: str | None
    password: str | None
    replicas: int | None  # of the streams the services create; None: by the cluster's size


@dataclass(frozen=True)
class HttpSettings:
    host: str
    port: int
    token_secrets: tuple[str, ...]
    rate_limit_per_s: float  # per caller, per process
    rate_burst: float


@dataclass(frozen=True)
class IntakeSettings:
    max_backlog: int  # outbox rows above which intake answers 503 backlogged
    pii_key_hex: str | None  # None: the local stack's key file


@dataclass(frozen=True)
class ImportSettings:
    """Spreadsheet imports (intake)."""

    max_bytes: int = 32 * 1024 * 1024  # one upload; 413 past it
    max_rows: int = 200_000
    stale_s: float = 120.0  # a runner silent this long: the import is reported interrupted


@dataclass(frozen=True)
class SchedulingSettings:
    horizon_days: int = 56  # slots exist eight weeks ahead
    daily_cap: int = 4  # visits a worker a day
    sweep_interval_s: float = 30.0
    # How long after a window ends, without a logged visit, the slot is called overdue:
    # visits are often logged on return to the office (docs/scheduling.md).
    overdue_grace_s: float = 7200.0


@dataclass(frozen=True)
class ReportingSettings:
    """Region shards of reporting (services/reporting/shard.py)."""

    regions: tuple[str, ...] = ()  # the prefixes this instance serves; none: every region
    shards: Mapping[str, str] = field(default_factory=dict)  # region prefix -> instance URL
    # Events a rebuild applies in one transaction (services/reporting/rebuild.py).
    rebuild_batch: int = 5000


@dataclass(frozen=True)
class TestingSettings:
    """Switches only the tests set; production leaves them empty."""

    clock_file: str | None = None
    faults: frozenset[str] = frozenset()
    unsafe_no_idempotency: bool = False
    unsafe_no_msg_id: bool = False


@dataclass(frozen=True)
class Settings:
    """What one service process needs to run, by section."""

    service: str
    database_url: str
    nats: NatsSettings
    http: HttpSettings
    intake: IntakeSettings
    imports: ImportSettings
    scheduling: SchedulingSettings
    testing: TestingSettings
    reporting: ReportingSettings = ReportingSettings()

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(environ)
        upper = service.upper()
        prefix = env.text("QIANSHOU_DB_PREFIX", "qianshou")
        user, password = nats_credentials(service, env)
        rate = env.number("QIANSHOU_RATE_LIMIT_PER_S", 50)
        return cls(
            service=service,
            database_url=env.text(
                f"{upper}_DATABASE_URL", with_database(server_url(env), f"{prefix}_{service}")
            ),
            nats=NatsSettings(nats_url(env), user, password, nats_replicas(env)),
            http=HttpSettings(
                host=env.text("QIANSHOU_HOST", "127.0.0.1"),
                port=service_port(service, env),
                token_secrets=token_secrets(env),
                rate_limit_per_s=rate,
                rate_burst=env.number("QIANSHOU_RATE_BURST", 2 * rate),
            ),
            intake=IntakeSettings(
                max_backlog=env.integer("INTAKE_MAX_BACKLOG", 100_000),
                pii_key_hex=env.optional("QIANSHOU_PII_KEY"),
            ),
            imports=import_limits(env),
            scheduling=SchedulingSettings(
                horizon_days=env.integer("SCHEDULING_HORIZON_DAYS", 56),
                daily_cap=env.integer("SCHEDULING_DAILY_CAP", 4),
                sweep_interval_s=env.number("SCHEDULING_SWEEP_INTERVAL_S", 30.0),
                overdue_grace_s=env.number("SCHEDULING_OVERDUE_GRACE_S", 7200.0),
            ),
            testing=for_tests(env),
            reporting=ReportingSettings(
                reporting_regions(env),
                reporting_shards(env),
                rebuild_batch=rebuild_batch(env),
            ),
        )

    # Shorthands for the fields most code needs.
    @property
    def name(self) -> str:
        return self.service

    @property
    def host(self) -> str:
        return self.http.host

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def nats_url(self) -> str:
        return self.nats.url

    @property
    def nats_user(self) -> str | None:
        return self.nats.user

    @property
    def nats_password(self) -> str | None:
        return self.nats.password

    @property
    def token_secrets(self) -> tuple[str, ...]:
        return self.http.token_secrets


ServiceSettings = Settings  # the name older call sites use


def reporting_regions(env: Env | None = None) -> tuple[str, ...]:
    """REPORTING_REGIONS: the GB/T 2260 prefixes one reporting instance serves (a shard),
    comma-separated (`22,11`); unset, it serves every region."""
    text = (env or Env()).text("REPORTING_REGIONS")
    regions = tuple(sorted({r.strip() for r in text.split(",")} - {""}))
    for region in regions:
        if not region.isdigit() or len(region) not in (2, 4, 6):
            raise ValueError(f"REPORTING_REGIONS: {region!r} is not a region prefix like 22")
    return regions


def reporting_shards(env: Env | None = None) -> dict[str, str]:
    """REPORTING_SHARDS: which reporting instance serves which regions, for answers that
    point a caller elsewhere and for `qianshou reporting national`:
    `22,11=http://10.0.0.5:8083;44=http://10.0.0.6:8083` (region prefix -> base URL)."""
    out: dict[str, str] = {}
    for entry in (env or Env()).text("REPORTING_SHARDS").split(";"):
        if not entry.strip():
            continue
        regions, _, url = entry.partition("=")
        if not url.strip():
            raise ValueError(f"REPORTING_SHARDS: {entry!r} is not REGIONS=URL")
        for region in regions.split(","):
            if region.strip():
                out[region.strip()] = url.strip().rstrip("/")
    return out


def import_limits(env: Env | None = None) -> ImportSettings:
    env = env or Env()
    return ImportSettings(
        max_bytes=env.integer("IMPORT_MAX_BYTES", ImportSettings.max_bytes),
        max_rows=env.integer("IMPORT_MAX_ROWS", ImportSettings.max_rows),
        stale_s=env.number("IMPORT_STALE_S", ImportSettings.stale_s),
    )


def for_tests(env: Env | None = None) -> TestingSettings:
    env = env or Env()
    faults = frozenset(p.strip() for p in env.text("QIANSHOU_FAULTS").split(",") if p.strip())
    return TestingSettings(
        clock_file=env.optional("QIANSHOU_CLOCK_FILE"),
        faults=faults,
        unsafe_no_idempotency=env.text("QIANSHOU_UNSAFE_NO_IDEMPOTENCY") == "1",
        unsafe_no_msg_id=env.text("QIANSHOU_UNSAFE_NO_MSG_ID") == "1",
    )


def nats_metrics(env: Env | None = None) -> tuple[int, list[str]]:
    """Where `qianshou up` serves JetStream metrics (QIANSHOU_NATS_METRICS_PORT, 7777; 0 is
    off) and the monitoring URLs of other NATS servers to include (QIANSHOU_NATS_MONITOR_URLS)."""
    env = env or Env()
    urls = [u.strip() for u in env.text("QIANSHOU_NATS_MONITOR_URLS").split(",") if u.strip()]
    return env.integer("QIANSHOU_NATS_METRICS_PORT", 7777), urls


def nats_credentials(name: str, env: Env | None = None) -> tuple[str | None, str | None]:
    """A service's (or "admin"'s) NATS user: from <NAME>_NATS_USER / _PASSWORD, else from
    the local stack's users file, else none (a server without authorization)."""
    env = env or Env()
    upper = name.upper()
    user, password = env.optional(f"{upper}_NATS_USER"), env.optional(f"{upper}_NATS_PASSWORD")
    if user:
        return user, password
    users_file = data_dir(env) / "secrets" / "nats-users.json"
    if users_file.exists():
        password = json.loads(users_file.read_text()).get("services", {}).get(name)
        if password:
            return name, password
    return None, None


def token_secrets(env: Env | None = None) -> tuple[str, ...]:
    """Signing secrets for HTTP tokens: the first signs, all verify (for key rotation).

    From QIANSHOU_TOKEN_SECRETS (comma-separated) or else the local stack's secret file,
    created on first use.
    """
    env = env or Env()
    configured = [s.strip() for s in env.text("QIANSHOU_TOKEN_SECRETS").split(",") if s.strip()]
    if configured:
        return tuple(configured)
    return (local_secret("token-secret", env),)


def local_secret(filename: str, env: Env | None = None) -> str:
    """A random secret kept in the data folder, readable by its owner only."""
    path = data_dir(env) / "secrets" / filename
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
