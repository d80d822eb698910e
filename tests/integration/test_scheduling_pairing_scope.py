"""A pairing's side reads the pairing scope's visit slots (SPEC 3.6 read scopes), against a
real NATS JetStream and a real PostgreSQL: the slots of clients of projects started under
the pairing and of the agencies it incubated, never the sides' other work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deploy.stack import Stack
from tests.integration.test_scheduling import (
    Token,
    _call,
    _create_plan,
    _plan,
    _publish,
    _start,
    _visits,
    _worker,
)
from tests.support.events import agency, client, envelope, pairing
from tests.support.polling import eventually


def _project(project_id: str, pairing_id: str | None) -> dict[str, Any]:
    payload = {
        "project_id": project_id,
        "agency_id": "wenhua",
        "pairing_id": pairing_id,
        "name": "Home care in Yanji",
        "target_group": "elders living alone",
        "starts_on": "2019-06-01",
    }
    return envelope("project-started", payload, agency_id="wenhua")


async def test_a_side_reads_the_pairing_scope_slots_and_nothing_else(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    url = stack.services["scheduling"].url
    lanxing, wenhua = token("agency", "lanxing"), token("agency", "wenhua")
    await _publish(stack, [agency("lanxing", "220102", role="assisting")], lanxing)
    await _publish(stack, [agency("wenhua", "222401")], wenhua)
    await _publish(stack, [pairing("lanxing", "p1")], token("province", region="22"))
    dandelion = token("agency", "dandelion")
    incubated = agency("dandelion", "222402", role="community", incubated_by_pairing_id="p1")
    await _publish(stack, [incubated, client("c-dan", agency_id="dandelion")], dandelion)
    await _publish(
        stack,
        [
            _project("proj-1", "p1"),
            client("c-in", agency_id="wenhua", project_id="proj-1"),
            client("c-out", agency_id="wenhua"),
        ],
        wenhua,
    )
    await _create_plan(url, wenhua, _plan("plan-in", "c-in", "09:00", "11:00"))
    await _create_plan(url, wenhua, _plan("plan-out", "c-out", "14:00", "16:00"))
    await _create_plan(url, dandelion, _plan("plan-dan", "c-dan", "09:00", "11:00"))
    assert {v["client_id"] for v in await _visits(url, wenhua)} == {"c-in", "c-out"}

    in_scope = {("wenhua", "c-in"), ("dandelion", "c-dan")}

    async def lanxing_sees() -> list[dict[str, Any]] | None:
        slots = await _visits(url, lanxing, pairing="p1")
        # until the project, the pairing and the incubated agency are consumed
        return slots if {(v["agency_id"], v["client_id"]) for v in slots} == in_scope else None

    seen = await eventually(lanxing_sees, timeout_s=30, what="pairing scope readable")
    assert len(seen) == 16
    assert await _visits(url, lanxing, pairing="p1", client="c-out") == []
    wenhua_part = await _visits(url, lanxing, pairing="p1", agency="wenhua")
    assert {v["client_id"] for v in wenhua_part} == {"c-in"}

    assert await _visits(url, lanxing) == []  # its own work: none
    other_side = await _call(url, "GET", "/v1/visits", lanxing, agency="wenhua")
    assert (other_side.status_code, other_side.json()["code"]) == (403, "forbidden")
    stranger = await _call(url, "GET", "/v1/visits", token("agency", "other"), pairing="p1")
    assert (stranger.status_code, stranger.json()["code"]) == (403, "forbidden")
    unknown = await _call(url, "GET", "/v1/visits", lanxing, pairing="p-404")
    assert (unknown.status_code, unknown.json()["code"]) == (403, "forbidden")
    far = await _call(url, "GET", "/v1/visits", token("province", region="21"), pairing="p1")
    assert (far.status_code, far.json()["code"]) == (403, "forbidden")

    province = await _visits(url, token("province", region="22"), pairing="p1")
    assert {v["client_id"] for v in province} == {"c-in", "c-dan"} and len(province) == 16
    admin = await _visits(url, token("admin"), pairing="p1")
    assert [v["slot_id"] for v in admin] == [v["slot_id"] for v in seen]


async def test_a_workers_schedule_read_through_the_pairing_scope(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    """GET /v1/workers/{id}/schedule?pairing= gives a side the worker's slots of the pairing
    scope only, as GET /v1/visits?pairing= does; never a worker outside the pairing."""
    _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    url = stack.services["scheduling"].url
    lanxing, wenhua = token("agency", "lanxing"), token("agency", "wenhua")
    await _publish(stack, [agency("lanxing", "220102", role="assisting")], lanxing)
    await _publish(stack, [agency("wenhua", "222401")], wenhua)
    await _publish(stack, [pairing("lanxing", "p1")], token("province", region="22"))
    outsider = token("agency", "yanghua")
    await _publish(stack, [agency("yanghua", "222405"), _worker("kim", ["ko"])], outsider)
    await _publish(
        stack,
        [
            _worker("kim", ["ko"], agency_id="wenhua"),
            _project("proj-1", "p1"),
            client("c-in", agency_id="wenhua", project_id="proj-1"),
            client("c-out", agency_id="wenhua"),
        ],
        wenhua,
    )
    await _create_plan(url, wenhua, _plan("plan-in", "c-in", "09:00", "11:00"))
    await _create_plan(url, wenhua, _plan("plan-out", "c-out", "14:00", "16:00"))
    path, since = "/v1/workers/kim/schedule", {"from": "2019-11-01", "to": "2019-12-31"}
    own = await _call(url, "GET", path, wenhua, **since)
    assert {s["client_id"] for s in own.json()["slots"]} == {"c-in", "c-out"}

    async def lanxing_reads() -> dict[str, Any] | None:
        resp = await _call(url, "GET", path, lanxing, pairing="p1", **since)
        return resp.json() if resp.status_code == 200 else None  # type: ignore[no-any-return]

    answer = await eventually(lanxing_reads, timeout_s=30, what="the pairing's worker readable")
    assert (answer["agency_id"], answer["worker_id"]) == ("wenhua", "kim")
    assert {s["client_id"] for s in answer["slots"]} == {"c-in"} and len(answer["slots"]) == 8
    narrowed = await _call(url, "GET", path, lanxing, pairing="p1", agency="wenhua", **since)
    assert narrowed.json()["slots"] == answer["slots"]

    not_its_own = await _call(url, "GET", path, lanxing, **since)
    assert not_its_own.status_code == 404
    other_partner = await _call(url, "GET", path, lanxing, pairing="p1", agency="yanghua")
    assert other_partner.status_code == 404  # yanghua's kim is not the pairing's
    stranger = await _call(url, "GET", path, outsider, pairing="p1")
    assert (stranger.status_code, stranger.json()["code"]) == (403, "forbidden")
    province = await _call(url, "GET", path, token("province", region="22"), pairing="p1", **since)
    assert province.json()["slots"] == answer["slots"]
