"""The published contracts as an integrator gets them: each service's /openapi.json and
/asyncapi.json, served by the service's own app (in process, nothing else started), and the
JavaScript tools of tests/contracts/js (installed by ./deploy/dev test with npm ci)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import create_app as intake_app
from services.reporting.app import create_app as reporting_app
from services.scheduling.app import create_app as scheduling_app

JS = Path(__file__).with_name("js")
APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": intake_app,
    "scheduling": scheduling_app,
    "reporting": reporting_app,
}


@pytest.fixture
def apps(service_env: None) -> dict[str, FastAPI]:
    return {name: make() for name, make in APPS.items()}


async def served(app: FastAPI, path: str) -> Any:
    """GET `path` from the app as a client would (no lifespan: documents need no I/O)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def asyncapi_documents(apps: dict[str, FastAPI]) -> dict[str, Any]:
    return {name: await served(app, "/asyncapi.json") for name, app in apps.items()}


@pytest.fixture
async def openapi_documents(apps: dict[str, FastAPI]) -> dict[str, Any]:
    return {name: await served(app, "/openapi.json") for name, app in apps.items()}


def node(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one of tests/contracts/js's scripts with the packages npm ci installed."""
    executable = shutil.which("node")
    if executable is None or not (JS / "node_modules").is_dir():
        pytest.fail(
            "Node.js and tests/contracts/js/node_modules are needed: ./deploy/dev test "
            "installs them (npm ci) when node and npm exist (Debian: apt-get install nodejs npm)"
        )
    return subprocess.run(
        [executable, str(JS / script), *args],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
