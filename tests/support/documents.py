"""The services' published documents as a client gets them: GET /openapi.json and
/asyncapi.json from each service's own app, in process (documents need no NATS or
database, so no lifespan runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from services.intake.app import create_app as intake_app
from services.reporting.app import create_app as reporting_app
from services.scheduling.app import create_app as scheduling_app

APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": intake_app,
    "scheduling": scheduling_app,
    "reporting": reporting_app,
}


async def served(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.get(path)


async def documents(path: str) -> dict[str, Any]:
    """service name -> the JSON document it serves at `path`."""
    out = {}
    for name, make in APPS.items():
        response = await served(make(), path)
        assert response.status_code == 200, response.text
        out[name] = response.json()
    return out
