"""PostgreSQL restarts under the services: intake answers 503 (JSON, retry) meanwhile,
consumers hold their batch instead of dead-lettering it, and everything is counted once."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from deploy.natsserver import LocalNats, free_port
from deploy.postgres import LocalPostgres
from deploy.stack import SERVICES, Stack
from tests.conftest import TEST_PII_KEY, TEST_SECRET
from tests.support.events import agency, visit
from tests.support.polling import eventually
from tests.support.reports import report


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    folder = Path(tempfile.mkdtemp(prefix="qianshou-test-pg-restart-"))
    server = LocalPostgres(folder / "data", free_port())
    server.start()
    try:
        yield server
    finally:
        server.remove()
        shutil.rmtree(folder, ignore_errors=True)


async def test_services_ride_out_a_database_restart(
    tmp_path: Path, nats_server: LocalNats, own_postgres: LocalPostgres, token: Callable[..., str]
) -> None:
    stack = Stack(
        data_dir=tmp_path / "data",
        nats_url=nats_server.url,
        database_url=own_postgres.url,
        ports={n: free_port() for n in SERVICES},
        db_prefix="restart",
        nats_users=nats_server.users,
        log_dir=tmp_path / "logs",
        extra_env={"QIANSHOU_TOKEN_SECRETS": TEST_SECRET, "QIANSHOU_PII_KEY": TEST_PII_KEY},
    )
    try:
        stack.up("intake", "reporting")
        yanghua = token("agency", "yanghua")
        url = f"{stack.services['intake'].url}/v1/events"

        def post(body: object) -> httpx.Response:
            return httpx.post(
                url,
                content=orjson.dumps(body),
                timeout=30,
                headers={"Authorization": f"Bearer {yanghua}"},
            )

        assert (
            post(
                [
                    agency("yanghua", "222405"),
                    *[visit(f"c-{n}", agency_id="yanghua") for n in range(50)],
                ]
            ).status_code
            == 200
        )
        own_postgres.stop()
        down = post(visit("c-x", agency_id="yanghua"))
        assert (down.status_code, down.json()["code"]) == (503, "unavailable")
        assert down.headers["Retry-After"]
        own_postgres.start()
        accepted = 50

        def after_restart() -> bool:
            return (
                post([visit(f"d-{n}", agency_id="yanghua") for n in range(50)]).status_code == 200
            )

        await eventually(after_restart, timeout_s=60, what="intake stores again")
        accepted += 50
        admin = token("admin")

        def counted() -> bool:
            body = report(stack, admin, region="22").json()
            return body.get("visits_by_service", {}).get("home-medication") == accepted

        await eventually(counted, timeout_s=60, what=f"{accepted} visits counted")
        assert stack.services["intake"].running() and stack.services["reporting"].running()
    finally:
        stack.stop()
