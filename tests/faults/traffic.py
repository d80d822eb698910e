"""The agencies' frontends: send batches over HTTP and NATS, write every answer to the ledger.

Sending is paced over a fixed span so that the chaos schedule hits traffic in flight, and
runs on a few concurrent clients. Nothing is retried here: an attempt without an answer
is recorded as unknown (the chaos run retries some of them later, as a frontend would).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson
from nats.aio.client import Client

from tests.faults.ledger import Ledger
from tests.faults.workload import Batch, Event

HTTP_TIMEOUT_S = 10.0
NATS_TIMEOUT_S = 10.0


class Frontends:
    """HTTP and NATS clients acting for every agency."""

    def __init__(
        self,
        intake_url: str,
        agency_clients: dict[str, Client],
        token: Callable[[str], str],
        ledger: Ledger,
    ):
        self.http = httpx.AsyncClient(base_url=intake_url, timeout=HTTP_TIMEOUT_S)
        self.agency_clients, self.token, self.ledger = agency_clients, token, ledger

    async def close(self) -> None:
        await self.http.aclose()
        for client in self.agency_clients.values():
            with contextlib.suppress(Exception):
                await client.close()

    async def send(self, batch: Batch) -> None:
        """One request; each of its events gets an outcome in the ledger."""
        if batch.channel == "http":
            outcomes = await self._post(batch)
        else:
            outcomes = await self._request(batch)
        for event, outcome in zip(batch.events, outcomes, strict=True):
            self.ledger.record(event, outcome)

    async def _post(self, batch: Batch) -> list[str]:
        headers = {"Authorization": f"Bearer {self.token(batch.agency_id)}"}
        try:
            resp = await self.http.post(
                "/v1/events", content=orjson.dumps(batch.events), headers=headers
            )
        except httpx.HTTPError as exc:
            return [f"unknown:{type(exc).__name__}"] * len(batch.events)
        if resp.status_code == 503 and resp.headers.get("Retry-After"):
            # nothing stored, come back later: back-pressure (`backlogged`: intake's outbox
            # over its limit) or another passing reason, told apart by the code
            try:
                code = str(orjson.loads(resp.content).get("code"))
            except (orjson.JSONDecodeError, AttributeError):
                code = "?"
            return [f"unknown:503-{code}-retry-after"] * len(batch.events)
        return _statuses(resp.status_code, resp.content, len(batch.events))

    async def _request(self, batch: Batch) -> list[str]:
        kind = batch.event_type or batch.events[0]["type"]
        try:
            msg = await self.agency_clients[batch.agency_id].request(
                f"intake.{batch.agency_id}.{kind}",
                orjson.dumps(batch.events),
                timeout=NATS_TIMEOUT_S,
            )
        except Exception as exc:  # timeout, no responders, NATS reconnecting
            return [f"unknown:{type(exc).__name__}"] * len(batch.events)
        status = int((msg.headers or {}).get("Qianshou-Status", "200"))
        return _statuses(status, msg.data, len(batch.events))


def _statuses(status: int, body: bytes, n: int) -> list[str]:
    """Per-event outcomes from an intake answer (the same for HTTP and NATS)."""
    if status >= 500:
        return [f"unknown:{status}"] * n
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [f"unknown:bad-body-{status}"] * n
    if isinstance(parsed, list) and len(parsed) == n:
        return [str(r.get("status")) for r in parsed]
    if isinstance(parsed, dict) and "status" in parsed and n == 1:
        return [str(parsed["status"])]
    return ["refused"] * n if 400 <= status < 500 else [f"unknown:{status}"] * n


async def paced(
    frontends: Frontends, batches: Sequence[Batch], span_s: float, concurrency: int
) -> None:
    """Send every batch, batch i not before i/len * span_s, on `concurrency` clients."""
    queue: asyncio.Queue[tuple[int, Batch]] = asyncio.Queue()
    for item in enumerate(batches):
        queue.put_nowait(item)
    start = time.monotonic()

    async def client() -> None:
        while True:
            try:
                i, batch = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            wait = start + span_s * i / max(1, len(batches)) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # pacing, not synchronisation
            await frontends.send(batch)

    tasks = [asyncio.create_task(client()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t


def http_batches(agency_events: dict[str, list[Event]], size: int = 300) -> list[Batch]:
    """Events regrouped as HTTP batches of one agency each."""
    out = []
    for agency, events in agency_events.items():
        for i in range(0, len(events), size):
            out.append(Batch("http", agency, events[i : i + size], repeat=True))
    return out
