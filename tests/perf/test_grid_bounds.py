"""How the grid bounds a cell: its time budget, a request's timeout and an error response,
against a stand-in reporting service (no servers; nothing here measures speed)."""

from __future__ import annotations

import httpx

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
