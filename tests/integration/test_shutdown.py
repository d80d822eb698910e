"""SIGTERM: a service stops taking work, settles what it holds, and exits within a bound;
nothing is lost or counted twice across the restart."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

import httpx
import orjson

from deploy.stack import Stack
from tests.support.events import agency, visit
from tests.support.polling import eventually
from tests.support.reports import report

EXIT_BOUND_S = 20


async def test_sigterm_under_load_exits_in_bound_and_loses_nothing(
    stack: Stack, token: Callable[..., str]
) -> None:
    stack.up("intake", "reporting")
    yanghua = token("agency", "yanghua")
    url = f"{stack.services['intake'].url}/v1/events"
    batches = [[agency("yanghua", "222405")]] + [
        [visit(f"c-{n}", agency_id="yanghua") for n in range(k * 200, (k + 1) * 200)]
        for k in range(10)
    ]
    async with httpx.AsyncClient(timeout=30) as http:
        for batch in batches[:6]:
            resp = await http.post(
                url, content=orjson.dumps(batch), headers={"Authorization": f"Bearer {yanghua}"}
            )
            assert resp.status_code == 200
        reporting = stack.services["reporting"]
        assert reporting.process is not None
        reporting.process.send_signal(signal.SIGTERM)  # while it is consuming
        try:
            reporting.process.wait(EXIT_BOUND_S)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"reporting did not exit within {EXIT_BOUND_S}s of SIGTERM"
            ) from exc
        for batch in batches[6:]:
            resp = await http.post(
                url, content=orjson.dumps(batch), headers={"Authorization": f"Bearer {yanghua}"}
            )
            assert resp.status_code == 200
        intake = stack.services["intake"]
        assert intake.process is not None
        intake.process.send_signal(signal.SIGTERM)
        intake.process.wait(EXIT_BOUND_S)
    stack.up("intake", "reporting")
    admin = token("admin")

    def all_counted() -> bool:
        return (
            report(stack, admin, region="22").json()["visits_by_service"].get("home-medication")
            == 2000
        )

    await eventually(all_counted, timeout_s=60, what="2000 visits, each once")
