"""How the grid bounds a cell: its time budget, a request's timeout and an error response,
against a stand-in reporting service; and what it cancels after a timeout, against the real
PostgreSQL. Nothing here measures speed."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest

from tests.perf import grid


def _client(answer: httpx.Response | Exception) -> tuple[httpx.Client, list[int]]:
    asked: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(1)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(base_url="http://reporting", transport=httpx.MockTransport(handler)), asked


def test_every_round_is_timed_within_the_budget() -> None:
    client, asked = _client(httpx.Response(200, json={}))
    cell = grid._time(client, "/v1/reports/summary", {}, grid.Rounds(rounds=5, warmup=1))
    assert cell["n"] == 5 and len(asked) == 6
    assert "timed_out" not in cell and "failed" not in cell


def test_a_warm_up_past_the_budget_leaves_one_more_request() -> None:
    client, asked = _client(httpx.Response(200, json={}))
    how = grid.Rounds(rounds=20, warmup=1, min_rounds=3, budget_s=0.0)
    cell = grid._time(client, "/v1/reports/summary", {}, how)
    assert cell["n"] == 1 and len(asked) == 2


def test_a_timed_out_request_is_a_sample_at_the_timeout_and_ends_the_cell() -> None:
    client, asked = _client(httpx.ReadTimeout("slow"))
    how = grid.Rounds(rounds=20, warmup=0, request_timeout_s=60.0)
    cell = grid._time(client, "/v1/reports/summary", {}, how)
    assert cell["timed_out"] == 1 and cell["n"] == 1 and cell["p95"] == 60_000
    assert len(asked) == 1


def test_an_error_response_ends_the_cell_without_failing_the_run() -> None:
    client, asked = _client(httpx.Response(503, text="unavailable"))
    cell = grid._time(client, "/v1/reports/summary", {}, grid.Rounds(rounds=20, warmup=1))
    assert cell["failed"] == 1 and cell["n"] == 0 and "503" in cell["error"]
    assert len(asked) == 1


async def test_a_timed_out_requests_reading_is_cancelled_and_writes_are_not(pg_url: str) -> None:
    since = time.time()
    reader, writer = await asyncpg.connect(pg_url), await asyncpg.connect(pg_url)
    try:
        await writer.execute("CREATE TEMP TABLE t (x int)")
        reading = asyncio.create_task(reader.fetchval("SELECT pg_sleep(60)"))
        writing = asyncio.create_task(writer.execute("INSERT INTO t SELECT 1 FROM pg_sleep(2)"))
        await _until_active(pg_url, 2)
        cancelled = await asyncio.to_thread(grid.abandoner(pg_url), since)
        assert cancelled == 1
        with pytest.raises(asyncpg.QueryCanceledError):
            await reading
        assert await writing == "INSERT 0 1"
    finally:
        await reader.close()
        await writer.close()


async def _until_active(url: str, statements: int) -> None:
    conn = await asyncpg.connect(url)
    deadline = time.monotonic() + 30
    try:
        while (
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                " AND query LIKE '%pg_sleep(%' AND pid <> pg_backend_pid()"
            )
            < statements
        ):
            assert time.monotonic() < deadline, "the statements never started"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
