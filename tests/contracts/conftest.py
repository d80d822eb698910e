"""The published contracts as an integrator gets them, and the JavaScript tools of
tests/contracts/js (installed by ./deploy/dev test with npm ci)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.documents import documents

JS = Path(__file__).with_name("js")


@pytest.fixture
async def asyncapi_documents(service_env: None) -> dict[str, Any]:
    return await documents("/asyncapi.json")


@pytest.fixture
async def openapi_documents(service_env: None) -> dict[str, Any]:
    return await documents("/openapi.json")


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
