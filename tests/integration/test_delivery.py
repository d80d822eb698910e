"""Delivery under trouble: back-pressure when EVENTS does not take writes, poison events
parked on DEADLETTER without blocking the rest, and the dlq commands."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable

import httpx
import orjson
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from deploy.stack import Stack
from services.reporting.handlers import CONSUMER
from shared.broker import declare_stream, events_stream
from tests.support.events import agency, read_stream, visit
from tests.support.intake import post_events
from tests.support.polling import eventually
from tests.support.reports import report


async def test_backlog_over_the_bound_answers_503_then_recovers(
    stack: Stack,
    nc: Client,
    agency_nc: Callable[[str], Awaitable[Client]],
    token: Callable[..., str],
) -> None:
    stack.extra_env["INTAKE_MAX_BACKLOG"] = "5"
    stack.up("intake")
    lanxing = token("agency", "lanxing")
    js = nc.jetstream()
    await js.delete_stream("EVENTS")  # NATS answers, but nothing can be published
    accepted: list[str] = []

    def refused() -> httpx.Response | None:
        event = visit("c-1")
        resp = post_events(stack, event, lanxing)
        if resp.status_code == 200:
            accepted.append(event["event_id"])
            return None
        return resp

    answer = await eventually(refused, timeout_s=60, interval_s=0.2)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["code"] == "backlogged"
    over_nats = await (await agency_nc("lanxing")).request(
        "intake.lanxing.visit-logged", orjson.dumps(visit("c-1")), timeout=10
    )
    assert (over_nats.headers or {}).get("Qianshou-Status") == "503"

    await declare_stream(js, events_stream())  # EVENTS is back: the backlog drains
    await eventually(
        lambda: post_events(stack, visit("c-2"), lanxing).status_code == 200, timeout_s=60
    )
    on_stream = await read_stream(nc)
    assert set(accepted) <= {m["event_id"] for m in on_stream}


async def test_poison_is_dead_lettered_and_does_not_block(
    stack: Stack, nc: Client, token: Callable[..., str]
) -> None:
    stack.up("intake", "reporting")
    admin = token("admin")
    js = nc.jetstream()
    await js.publish(
        "events.222405.yanghua.visit-logged", b"{not an event", headers={"Nats-Msg-Id": "rogue-1"}
    )
    post_events(
        stack,
        [agency("yanghua", "222405"), visit("c-1", agency_id="yanghua")],
        token("agency", "yanghua"),
    )

    def visit_counted() -> bool:
        body = report(stack, admin, region="22").json()
        return body.get("visits_by_service", {}).get("home-medication") == 1

    await eventually(visit_counted, timeout_s=30)
    env = stack.service_env("reporting")

    def qianshou(*args: str) -> object:
        out = subprocess.run(
            [sys.executable, "-m", "deploy.cli", "dlq", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return orjson.loads(out.stdout)

    [letter] = qianshou("list")  # type: ignore[misc]
    assert letter["service"] == "reporting"
    assert letter["subject"] == "events.222405.yanghua.visit-logged"
    assert "undecodable" in letter["reason"]
    shown = qianshou("show", str(letter["seq"]))
    assert shown["event"] == "{not an event"  # type: ignore[index]
    qianshou("replay", str(letter["seq"]))
    # still poison: it is parked again under a new sequence, the old entry is gone

    def parked_again() -> bool:
        again = qianshou("list")
        return len(again) == 1 and again[0]["seq"] != letter["seq"]  # type: ignore[arg-type,index]

    await eventually(parked_again, timeout_s=30)


async def test_consumer_configuration_is_brought_up_to_date_at_start(
    stack: Stack, nc: Client
) -> None:
    """A durable left with an old configuration is updated when the service starts."""
    js = nc.jetstream()
    await declare_stream(js, events_stream())
    await js.add_consumer(
        "EVENTS",
        ConsumerConfig(
            name="reporting",
            durable_name="reporting",
            filter_subjects=["events.*.*.visit-logged"],
            ack_wait=5,
            max_deliver=100,
            max_ack_pending=7,
        ),
    )
    stack.up("reporting")
    info = await js.consumer_info("EVENTS", "reporting")
    wanted = CONSUMER.config()
    assert info.config.max_ack_pending == wanted.max_ack_pending
    assert info.config.max_deliver == wanted.max_deliver
    assert info.config.backoff == wanted.backoff and info.config.ack_wait == wanted.ack_wait
    assert sorted(info.config.filter_subjects or []) == sorted(wanted.filter_subjects or [])
