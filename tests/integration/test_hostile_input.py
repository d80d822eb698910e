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
from tests.support.events import agency, envelope, visit


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


def test_control_characters_and_implausible_dates_are_refused_per_event(
    stack: Stack, token: Callable[..., str]
) -> None:
    """A NUL (which PostgreSQL cannot store) or a year 9999 (which no service can convert)
    in one event of a batch is that event's 422-style refusal with its field path; the
    rest of the batch is stored. Alone, such an event gets a 422."""
    stack.up("intake")
    url = f"{stack.services['intake'].url}/v1/events"
    auth = {"Authorization": f"Bearer {token('agency', 'lanxing')}"}
    nul_title = envelope(
        "activity-held",
        {
            "activity_id": "a-nul",
            "kind": "health-lecture",
            "title": "Health\u0000lecture",
            "held_on": "2019-11-04",
            "attendees": 12,
        },
    )
    batch = [
        agency("lanxing", "220102", role="assisting", name="Lanxing\u001b[31m"),
        nul_title,
        visit("c-1", started_at="9999-12-31T23:00:00-05:00"),
        visit("c-2"),
    ]
    resp = httpx.post(url, content=orjson.dumps(batch), headers=auth, timeout=30)
    assert resp.status_code == 200, resp.text
    answers = resp.json()
    assert [a["status"] for a in answers] == ["rejected", "rejected", "rejected", "accepted"]
    assert [(e["code"], e["path"]) for a in answers[:3] for e in a["errors"]] == [
        ("control_character", "payload.name"),
        ("control_character", "payload.title"),
        ("implausible_date", "payload.started_at"),
    ]
    alone = httpx.post(url, content=orjson.dumps(nul_title), headers=auth, timeout=30)
    assert alone.status_code == 422
    assert alone.json()["errors"][0]["path"] == "payload.title"
    stored = httpx.get(f"{url}/{nul_title['event_id']}", headers=auth, timeout=30)
    assert stored.status_code == 404
