"""An import that intake's end cuts short: its record survives, says `interrupted`, and
uploading the file again finishes it without counting a row twice."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import httpx

from deploy.stack import Stack
from tests.support.polling import eventually

ROWS = 30_000  # far more than intake imports between the 202 and the kill


def _visits_csv() -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["visit_id", "client_id", "worker_id", "service", "started_at", "duration_min"])
    for n in range(ROWS):
        day, minute = 1 + n % 28, n % 600
        writer.writerow(
            [f"r-{n:06d}", f"c-{n % 300}", "w-1", "home-care",
             f"2026-10-{day:02d} {8 + minute // 60:02d}:{minute % 60:02d}", 30]
        )  # fmt: skip
    return text.getvalue().encode()


async def test_an_interrupted_import_is_reported_and_a_second_upload_finishes_it(
    stack: Stack, token: Callable[..., str]
) -> None:
    stack.extra_env["IMPORT_STALE_S"] = "1"
    stack.up("intake")
    intake = stack.services["intake"].url
    auth = {"Authorization": f"Bearer {token('agency', 'lanxing')}"}
    content = _visits_csv()

    def upload() -> str:
        resp = httpx.post(
            f"{intake}/v1/imports",
            headers=auth,
            data={"type": "visits"},
            files={"file": ("visits.csv", content)},
            timeout=60,
        )
        assert resp.status_code == 202, resp.text
        return str(resp.json()["import_id"])

    first = upload()
    stack.services["intake"].kill()  # no shutdown code runs
    stack.up("intake")

    def status(import_id: str) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(
            f"{intake}/v1/imports/{import_id}", headers=auth, timeout=30
        ).json()
        return body

    cut = await eventually(
        lambda: (s := status(first))["status"] != "running" and s,
        what="the cut-short import reported",
    )
    assert cut["status"] == "failed"
    assert cut["message"].startswith("interrupted")
    assert cut["processed"] < ROWS

    second = upload()
    done = await eventually(
        lambda: (s := status(second))["status"] == "done" and s,
        timeout_s=180,
        what="the second upload finished",
    )
    assert done["rejected"] == 0
    assert done["accepted"] + done["duplicate"] == ROWS
    assert done["duplicate"] >= cut["accepted"]  # what the first stored is not stored again
