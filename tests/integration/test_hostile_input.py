"""Hostile input against a live intake: schemathesis over its OpenAPI document finds no 5xx,
random bytes over HTTP and NATS get a clear error, and intake stays up."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import orjson
from nats.aio.client import Client

from deploy.stack import Stack


def _schemathesis() -> str:
    beside = Path(sys.executable).parent / "schemathesis"
    return str(beside) if beside.exists() else shutil.which("schemathesis") or "schemathesis"


def test_schemathesis_finds_no_server_error(stack: Stack, token: Callable[..., str]) -> None:
    stack.up("intake", "reporting")
    for name in ("intake", "reporting"):
        url = stack.services[name].url
        result = subprocess.run(
            [
                _schemathesis(),
                "run",
                f"{url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "-H",
                f"Authorization: Bearer {token('agency', 'lanxing')}",
                "-n",
                "25",
                "--seed",
                "20261128",
                "--suppress-health-check",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:]
        assert stack.services[name].running()


async def test_random_bytes_get_an_error_never_a_crash(
    stack: Stack, agency_nc: Callable[[str], Awaitable[Client]], token: Callable[..., str]
) -> None:
    stack.up("intake")
    lanxing = await agency_nc("lanxing")
    rng = random.Random(7)
    url = f"{stack.services['intake'].url}/v1/events"
    auth = {"Authorization": f"Bearer {token('agency', 'lanxing')}"}
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(50):
            body = rng.randbytes(rng.randint(0, 400))
            resp = await http.post(url, content=body, headers=auth)
            assert 400 <= resp.status_code < 500 and "code" in resp.json()
            reply = await lanxing.request("intake.lanxing.visit-logged", body, timeout=10)
            status = int((reply.headers or {})["Qianshou-Status"])
            assert 400 <= status < 500 and "code" in orjson.loads(reply.data)
        assert (await http.get(f"{stack.services['intake'].url}/healthz")).status_code == 200
