"""Reporting's operations through the public contract: rebuild and report publishing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import httpx
import orjson
from nats.aio.client import Client

from deploy.demo import reference_programme
from deploy.stack import Stack
from tests.support.events import read_stream
from tests.support.reports import caught_up, report


async def test_rebuild_gives_identical_json(demo_stack: Stack, token: Callable[..., str]) -> None:
    admin = token("admin")
    await caught_up(demo_stack, token)
    queries = [
        {"region": "22"},
        {"region": "2224", "breakdown": "region"},
        {"region": "22", "from": "2019-01-01", "to": "2020-12-31", "breakdown": "quarter"},
    ]
    before = [report(demo_stack, admin, **q).content for q in queries]
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "reporting", "rebuild"],
        env=demo_stack.service_env("reporting"),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    summary = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert summary["replayed"] == len(reference_programme())
    after = [report(demo_stack, admin, **q).content for q in queries]
    assert after == before


async def test_province_publishes_a_period_report_on_nats(
    demo_stack: Stack, nc: Client, token: Callable[..., str]
) -> None:
    await caught_up(demo_stack, token)
    url = f"{demo_stack.services['reporting'].url}/v1/reports/publish"
    jilin = {"Authorization": f"Bearer {token('province', region='22')}"}
    published = httpx.post(url, params={"region": "2224", "period": "2019-Q4"}, headers=jilin)
    assert published.status_code == 201
    [message] = await read_stream(nc, "reports.>", stream="REPORTS")
    assert message["subject"] == "reports.2224.2019-Q4"
    assert message["type"] == "report-published"
    expected = report(
        demo_stack, token("admin"), region="2224", **{"from": "2019-10-01", "to": "2019-12-31"}
    )
    assert (
        message["payload"]["summary"]["visits_by_service"] == expected.json()["visits_by_service"]
    )
    agency = {"Authorization": f"Bearer {token('agency', 'yanghua')}"}
    assert (
        httpx.post(url, params={"region": "2224", "period": "2019"}, headers=agency).status_code
        == 403
    )
    outside = httpx.post(url, params={"region": "11", "period": "2019"}, headers=jilin)
    assert outside.status_code == 403
