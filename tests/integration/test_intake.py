"""Intake against a real NATS JetStream and a real PostgreSQL (issue: intake)."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest
from nats.aio.client import Client

from deploy.natsserver import LocalNats
from deploy.stack import Stack
from tests.support.events import agency, client, read_stream, visit
from tests.support.polling import eventually

PERSONAL = ("金顺姬", "22240519400101123X", "13904331234")


def _mixed_batch() -> tuple[list[dict[str, Any]], str]:
    """A batch with valid, repeated, conflicting and invalid events, and what each must get."""
    reg = agency("lanxing", "220102", role="assisting")
    elder = client("c-1")
    v1 = visit("c-1")
    v1_again = copy.deepcopy(v1)  # same id, same content: a duplicate within the batch
    v1_changed = copy.deepcopy(v1)
    v1_changed["payload"]["duration_min"] = 99  # same id, other content: a conflict
    naive = visit("c-1", started_at="2019-11-04T09:30:00")  # naive timestamp: rejected
    unknown = visit("c-1")
    unknown["payload"]["colour"] = "red"  # unknown field: rejected
    batch = [reg, elder, v1, v1_again, v1_changed, naive, unknown]
    return batch, "accepted,accepted,accepted,duplicate,conflict,rejected,rejected"


async def _post(stack: Stack, body: Any, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.services["intake"].url, timeout=30) as http:
        return await http.post(
            "/v1/events", content=orjson.dumps(body), headers={"Authorization": f"Bearer {token}"}
        )


async def _on_stream(nc: Client, count: int) -> list[dict[str, Any]]:
    """Wait until EVENTS holds `count` messages, then read them all."""
    js = nc.jetstream()

    async def enough() -> bool:
        return (await js.stream_info("EVENTS")).state.messages >= count

    await eventually(enough, timeout_s=30)
    return await read_stream(nc)


async def test_mixed_batch_gets_a_status_per_event_and_only_valid_ones_reach_events(
    stack: Stack, nc: Client, token: Callable[..., str]
) -> None:
    stack.up("intake")
    batch, expected = _mixed_batch()
    resp = await _post(stack, batch, token("agency", "lanxing"))
    assert resp.status_code == 200
    results = resp.json()
    assert ",".join(r["status"] for r in results) == expected
    assert results[4]["errors"][0]["path"] == "event_id"
    assert {e["path"] for e in results[5]["errors"]} == {"payload.started_at"}
    assert results[6]["errors"][0] == {
        "code": "unknown_field",
        "path": "payload.colour",
        "message": "Extra inputs are not permitted",
    }

    on_stream = await _on_stream(nc, 3)
    assert Counter(m["event_id"] for m in on_stream) == Counter(e["event_id"] for e in batch[:3])
    # the agency registered in the same batch gives its events their region
    assert {m["subject"].split(".")[1] for m in on_stream} == {"220102"}
    assert all(m["headers"]["Nats-Msg-Id"] == f"lanxing:{m['event_id']}" for m in on_stream)

    again = await _post(stack, batch, token("agency", "lanxing"))
    assert [r["status"] for r in again.json()] == [
        "duplicate",
        "duplicate",
        "duplicate",
        "duplicate",
        "conflict",
        "rejected",
        "rejected",
    ]
    assert (await nc.jetstream().stream_info("EVENTS")).state.messages == 3


async def test_no_personal_data_reaches_events(
    stack: Stack, nc: Client, token: Callable[..., str]
) -> None:
    stack.up("intake")
    resp = await _post(stack, client("c-9"), token("agency", "lanxing"))
    assert resp.json()["status"] == "accepted"
    [message] = await _on_stream(nc, 1)
    raw = orjson.dumps(message).decode()
    assert message["payload"]["client_id"] == "c-9"
    for value in PERSONAL:
        assert value not in raw
    assert not {"name", "id_number", "phone"} & set(message["payload"])


async def test_status_codes_and_authorization(stack: Stack, token: Callable[..., str]) -> None:
    stack.up("intake")
    lanxing = token("agency", "lanxing")
    url = stack.services["intake"].url
    async with httpx.AsyncClient(base_url=url) as http:
        no_token = await http.post("/v1/events", content=b"{}")
        assert (no_token.status_code, no_token.json()["code"]) == (401, "unauthorized")
        forged = await http.post(
            "/v1/events", content=b"{}", headers={"Authorization": "Bearer x.y.z"}
        )
        assert forged.status_code == 401
        malformed = await http.post(
            "/v1/events", content=b"{nope", headers={"Authorization": f"Bearer {lanxing}"}
        )
        assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed")
        other = await http.post(
            "/v1/events",
            content=orjson.dumps(visit("c-1", agency_id="yanghua")),
            headers={"Authorization": f"Bearer {lanxing}"},
        )
        assert (other.status_code, other.json()["code"]) == (403, "forbidden")
        invalid = await http.post(
            "/v1/events",
            content=orjson.dumps([{"type": "visit-logged"}]),
            headers={"Authorization": f"Bearer {lanxing}"},
        )
        assert invalid.status_code == 422
        huge = await http.post(
            "/v1/events",
            content=b"[" + b" " * (5 * 1024 * 1024) + b"]",
            headers={"Authorization": f"Bearer {lanxing}"},
        )
        assert (huge.status_code, huge.json()["code"]) == (413, "too_large")
        too_many = await http.post(
            "/v1/events",
            content=orjson.dumps([{}] * 1001),
            headers={"Authorization": f"Bearer {lanxing}"},
        )
        assert too_many.status_code == 413

        event = visit("c-1")
        await http.post(
            "/v1/events",
            content=orjson.dumps(event),
            headers={"Authorization": f"Bearer {lanxing}"},
        )
        mine = await http.get(
            f"/v1/events/{event['event_id']}", headers={"Authorization": f"Bearer {lanxing}"}
        )
        assert mine.status_code == 200 and mine.json()["type"] == "visit-logged"
        theirs = await http.get(
            f"/v1/events/{event['event_id']}?agency=lanxing",
            headers={"Authorization": f"Bearer {token('agency', 'yanghua')}"},
        )
        assert theirs.status_code == 403
        admin = await http.get(
            f"/v1/events/{event['event_id']}?agency=lanxing",
            headers={"Authorization": f"Bearer {token('admin')}"},
        )
        assert admin.status_code == 200


async def test_province_publishes_inside_its_region_only(
    stack: Stack, token: Callable[..., str]
) -> None:
    stack.up("intake")
    await _post(stack, agency("yanghua", "222405"), token("agency", "yanghua"))
    jilin = token("province", region="22")
    beijing = token("province", region="11")
    assert (await _post(stack, visit("c-1", agency_id="yanghua"), jilin)).status_code == 200
    assert (await _post(stack, visit("c-1", agency_id="yanghua"), beijing)).status_code == 403


async def test_nats_request_reply_answers_like_http(
    stack: Stack,
    nc: Client,
    agency_nc: Callable[[str], Awaitable[Client]],
    token: Callable[..., str],
) -> None:
    stack.up("intake")
    lanxing, yanghua = await agency_nc("lanxing"), await agency_nc("yanghua")
    batch, expected = _mixed_batch()
    replies = []
    for event in batch:
        msg = await lanxing.request(
            f"intake.lanxing.{event['type']}", orjson.dumps(event), timeout=10
        )
        replies.append(orjson.loads(msg.data)["status"])
    assert ",".join(replies) == expected
    http_again = await _post(stack, batch[:3], token("agency", "lanxing"))
    assert [r["status"] for r in http_again.json()] == ["duplicate"] * 3

    # yanghua's user may publish on intake.yanghua.*, but not lanxing's events
    wrong_agency = await yanghua.request(
        "intake.yanghua.visit-logged", orjson.dumps(batch[2]), timeout=10
    )
    assert (wrong_agency.headers or {}).get("Qianshou-Status") == "403"
    garbage = await lanxing.request("intake.lanxing.visit-logged", b"\x00\xffnot json", timeout=10)
    assert orjson.loads(garbage.data)["code"] == "malformed"
    on_stream = await _on_stream(nc, 3)
    assert len(on_stream) == 3


async def test_a_request_naming_a_foreign_reply_subject_is_dropped(
    stack: Stack,
    nc: Client,
    agency_nc: Callable[[str], Awaitable[Client]],
    token: Callable[..., str],
) -> None:
    """Intake answers with its own rights, so it answers only into the agency's inbox:
    otherwise an agency could make it publish on events.>, $JS.API.> or $KV.>."""
    stack.up("intake")
    lanxing = await agency_nc("lanxing")
    hijack = visit("c-1")
    await lanxing.publish(
        "intake.lanxing.visit-logged",
        orjson.dumps(hijack),
        reply="events.220102.yanghua.visit-logged",
    )
    honest = visit("c-2")  # same connection, after it: once answered, the first was handled
    answer = await lanxing.request("intake.lanxing.visit-logged", orjson.dumps(honest), timeout=10)
    assert orjson.loads(answer.data)["status"] == "accepted"
    async with httpx.AsyncClient(base_url=stack.services["intake"].url) as http:
        lookup = await http.get(
            f"/v1/events/{hijack['event_id']}",
            headers={"Authorization": f"Bearer {token('agency', 'lanxing')}"},
        )
    assert lookup.status_code == 404
    on_stream = await _on_stream(nc, 1)
    assert [m["event_id"] for m in on_stream] == [honest["event_id"]]


async def test_sigkill_after_storing_loses_nothing(
    stack: Stack, nats_server: LocalNats, nc: Client, token: Callable[..., str]
) -> None:
    """Intake dies after committing, before answering or publishing: the events are
    published after restart, once each."""
    stack.extra_env["QIANSHOU_FAULTS"] = "intake.after_commit"
    stack.up("intake")
    events = [visit(f"c-{n}") for n in range(20)]
    with pytest.raises(httpx.HTTPError):  # the process dies before it answers
        await _post(stack, events, token("agency", "lanxing"))
    await eventually(lambda: not stack.services["intake"].running(), timeout_s=10)
    del stack.extra_env["QIANSHOU_FAULTS"]
    stack.up("intake")
    on_stream = await _on_stream(nc, 20)
    assert Counter(m["event_id"] for m in on_stream) == Counter(e["event_id"] for e in events)
    # the frontend retries what it never got an answer for: all duplicates now
    retry = await _post(stack, events, token("agency", "lanxing"))
    assert {r["status"] for r in retry.json()} == {"duplicate"}


async def test_sigkill_between_publishing_and_marking_publishes_once(
    stack: Stack, nc: Client, token: Callable[..., str]
) -> None:
    stack.extra_env["QIANSHOU_FAULTS"] = "intake.relay.after_publish"
    stack.up("intake")
    events = [visit(f"c-{n}") for n in range(10)]
    resp = await _post(stack, events, token("agency", "lanxing"))
    assert {r["status"] for r in resp.json()} == {"accepted"}
    await eventually(lambda: not stack.services["intake"].running(), timeout_s=30)
    del stack.extra_env["QIANSHOU_FAULTS"]
    stack.up("intake")  # re-publishes the window; the duplicate window absorbs it

    async def outbox_empty() -> bool:
        async with httpx.AsyncClient() as http:
            body = (await http.get(f"{stack.services['intake'].url}/metrics")).text
        return 'qianshou_outbox_backlog{service="intake"} 0.0' in body

    await eventually(outbox_empty, timeout_s=30)
    on_stream = await read_stream(nc)
    assert Counter(m["event_id"] for m in on_stream) == Counter(e["event_id"] for e in events)


async def test_nats_down_for_ten_seconds_every_accepted_event_arrives_once(
    stack: Stack, nats_server: LocalNats, nc: Client, token: Callable[..., str]
) -> None:
    stack.up("intake")
    lanxing = token("agency", "lanxing")
    accepted: list[str] = []

    async def send(n: int) -> None:
        for _ in range(n):
            event = visit("c-1")
            resp = await _post(stack, event, lanxing)
            if resp.json()["status"] == "accepted":
                accepted.append(event["event_id"])

    await send(20)
    nats_server.stop()
    outage = asyncio.create_task(send(50))  # a stream of events while NATS is down
    await asyncio.sleep(10)  # the outage itself, not synchronisation
    await outage
    nats_server.start()
    await send(20)
    assert len(accepted) == 90
    on_stream = await _on_stream(nc, 90)
    assert Counter(m["event_id"] for m in on_stream) == Counter(accepted)
