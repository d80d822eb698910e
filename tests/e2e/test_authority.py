"""Who may say what (SPEC 3.6) through the public contract: the province publishes the
registry, and attacks through the front door are refused per event, changing no figure
and no read scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from nats.aio.client import Client

from deploy.demo import PAIRING, reference_programme
from deploy.stack import Stack
from tests.support.events import agency, client, envelope, pairing, read_stream, visit
from tests.support.intake import post_events
from tests.support.polling import eventually
from tests.support.reports import caught_up, report

Token = Callable[..., str]


def _demo_event(type_name: str, **payload: str) -> dict[str, Any]:
    return next(
        e
        for e in reference_programme()
        if e["type"] == type_name and all(e["payload"].get(k) == v for k, v in payload.items())
    )


def _attacks(token: Token) -> list[tuple[str, str, dict[str, Any], str, str]]:
    """(what, token, event, expected code, expected path) for each attempt."""
    takeover = agency(
        "yanghua", "220102", role="assisted", incubated_by_pairing_id=PAIRING
    )  # an existing foreign agency, moved into the attacker's city and pairing
    takeover["agency_id"] = "lanxing"
    takeover["occurred_at"] = "2030-01-01T09:00:00+08:00"
    one_sided = pairing("lanxing", pairing_id="lanxing-yanghua")
    one_sided["payload"]["assisted_agency_id"] = "yanghua"
    stranger_pairing = pairing("evil", pairing_id="evil-wenhua")
    stranger_pairing["payload"]["assisting_agency_id"] = "evil"
    re_sided = {**_demo_event("pairing-established"), "event_id": "re-side"}
    re_sided["payload"] = {**re_sided["payload"], "assisted_agency_id": "yanghua"}
    moved_out = agency("yanghua", "220102")  # a prefecture moving an agency out of itself
    dispatch = envelope(
        "staff-dispatched",
        {
            "dispatch_id": "d-evil",
            "pairing_id": PAIRING,
            "worker_id": "e1",
            "from_date": "2019-06-01",
            "to_date": "2019-06-30",
        },
        agency_id="evil",
    )
    pairing_event = _demo_event("pairing-established")["event_id"]
    retract_pairing = envelope(
        "event-retracted",
        {"target_event_id": pairing_event, "reason": "we pair ourselves"},
        agency_id="lanxing",
    )
    stranger_visit = visit("wh-e001", agency_id="evil", client_agency_id="yanghua")
    lanxing, evil = token("agency", "lanxing"), token("agency", "evil")
    return [
        ("takeover", lanxing, takeover, "forbidden_reference", "payload.agency_id"),
        ("one-sided pairing", lanxing, one_sided, "forbidden_reference", "payload.pairing_id"),
        ("stranger pairs itself", evil, stranger_pairing, "forbidden_reference", "payload.pairing_id"),
        ("re-side", token("province", region="22"), re_sided, "forbidden_reference",
         "payload.assisted_agency_id"),
        ("move out of the prefecture", token("province", region="2224"), moved_out,
         "forbidden_reference", "payload.agency_id"),
        ("dispatch for a foreign pairing", evil, dispatch, "forbidden_reference",
         "payload.pairing_id"),
        ("agency retracts the department's pairing", lanxing, retract_pairing,
         "forbidden_reference", "payload.target_event_id"),
        ("visit to a stranger's client", evil, stranger_visit, "forbidden_reference",
         "payload.client_agency_id"),
    ]  # fmt: skip


def _figures(stack: Stack, token: Token) -> dict[str, Any]:
    """Everything the attacks could have changed: figures and who reads what."""
    lanxing, admin = token("agency", "lanxing"), token("admin")

    def body(resp: httpx.Response) -> Any:
        data = resp.json()
        if isinstance(data, dict):
            data.pop("as_of", None)
        return resp.status_code, data

    return {
        "province": body(report(stack, admin, region="22")),
        "yanbian": body(report(stack, admin, region="2224")),
        "changchun": body(report(stack, admin, region="2201")),
        "pairing": body(report(stack, admin, f"/v1/reports/pairings/{PAIRING}")),
        "lanxing reads yanghua": report(stack, lanxing, agency="yanghua").status_code,
        "lanxing reads lanxing-yanghua": report(
            stack, lanxing, pairing="lanxing-yanghua"
        ).status_code,
        "evil reads the pairing": report(
            stack, token("agency", "evil"), pairing=PAIRING
        ).status_code,
        "evil reads evil-wenhua": report(
            stack, token("agency", "evil"), pairing="evil-wenhua"
        ).status_code,
    }


async def test_attacks_are_refused_per_event_and_change_nothing(
    demo_stack: Stack, token: Token
) -> None:
    await caught_up(demo_stack, token)
    evil = token("agency", "evil")
    assert (
        post_events(demo_stack, agency("evil", "110101", role="assisting"), evil).json()["status"]
        == "accepted"
    )
    before = _figures(demo_stack, token)
    for what, bearer, event, code, path in _attacks(token):
        answer = post_events(demo_stack, event, bearer).json()
        assert answer["status"] == "rejected", (what, answer)
        error = answer["errors"][0]
        assert (error["code"], error["path"]) == (code, path), (what, error)
        assert "province" in error["message"] or "agency" in error["message"], what
    # Something harmless after the attempts: once reporting shows it, the attempts (had
    # any got through) would show too.
    marker = envelope(
        "activity-held",
        {"activity_id": "marker", "kind": "group-activity", "title": "after the attacks",
         "held_on": "2019-12-01", "attendees": 3},
        agency_id="evil",
    )  # fmt: skip
    assert post_events(demo_stack, marker, evil).json()["status"] == "accepted"
    recorded = httpx.get(
        f"{demo_stack.services['intake'].url}/v1/events/{marker['event_id']}",
        headers={"Authorization": f"Bearer {evil}"},
    ).json()["recorded_at"]

    def reflected() -> bool:
        as_of = report(demo_stack, token("admin")).json().get("as_of")
        return bool(as_of) and datetime.fromisoformat(as_of) >= datetime.fromisoformat(recorded)

    await eventually(reflected, timeout_s=30, what="the marker reflected")
    assert _figures(demo_stack, token) == before
    assert before["lanxing reads yanghua"] == 403
    assert before["evil reads the pairing"] == 403


async def test_the_province_publishes_the_registry_and_events_say_who_sent_them(
    demo_stack: Stack, nc: Client, token: Token
) -> None:
    body = await caught_up(demo_stack, token)
    assert body["agencies"] == {"assisting": 1, "assisted": 2, "incubated": 2}
    assert body["pairings_active"] == 0  # the demo pairing ended in 2021: not active today
    assert body["staff_days_target"] > 0
    pairing_report = report(
        demo_stack, token("province", region="22"), f"/v1/reports/pairings/{PAIRING}"
    ).json()
    assert pairing_report["agencies_incubated"]["actual"] == 2
    senders = {}
    for message in await read_stream(nc):
        senders.setdefault(message["type"], set()).add(
            (message["submitted_by"]["kind"], message["submitted_by"]["id"])
        )
    assert senders["pairing-established"] == {("province", "22")}
    assert senders["agency-registered"] == {("province", "22")}
    assert senders["visit-logged"] == {("agency", "yanghua")}
    assert senders["staff-dispatched"] == {("agency", "lanxing")}


async def test_a_pairing_is_read_by_its_sides_and_shows_only_the_pairings_work(
    demo_stack: Stack, token: Token
) -> None:
    """SPEC 3.6 read scopes: the pairing scope is the pairing's dispatches, trainings and
    milestones, its incubated agencies, and its projects' clients, visits and activities;
    never the sides' other work; only the two sides (not an incubated agency) read it."""
    await caught_up(demo_stack, token)
    lanxing = token("agency", "lanxing")
    unrelated = [
        client("cc-1", agency_id="lanxing"),  # a Changchun elder, nothing to do with Longjing
        visit("cc-1", agency_id="lanxing", worker_id="lx-w1", service="home-care"),
        envelope(
            "activity-held",
            {"activity_id": "cc-lecture", "kind": "health-lecture", "title": "Changchun",
             "held_on": "2019-12-01", "attendees": 30},
            agency_id="lanxing",
        ),
    ]  # fmt: skip
    assert {r["status"] for r in post_events(demo_stack, unrelated, lanxing).json()} == {"accepted"}
    evil = token("agency", "evil")
    assert post_events(demo_stack, agency("evil", "110101"), evil).json()["status"] == "accepted"
    recorded = httpx.get(
        f"{demo_stack.services['intake'].url}/v1/events/{unrelated[-1]['event_id']}",
        headers={"Authorization": f"Bearer {lanxing}"},
    ).json()["recorded_at"]

    def reflected() -> bool:
        as_of = report(demo_stack, token("admin")).json().get("as_of")
        return bool(as_of) and datetime.fromisoformat(as_of) >= datetime.fromisoformat(recorded)

    await eventually(reflected, timeout_s=30, what="lanxing's own work reflected")
    scope = report(demo_stack, lanxing, pairing=PAIRING).json()
    elders = {e["payload"]["client_id"] for e in reference_programme()
              if e["type"] == "client-registered" and e["payload"].get("project_id")}  # fmt: skip
    assert scope["clients_registered"] == len(elders)  # not Lanxing's own, nor close contacts
    assert set(scope["visits_by_service"]) == {"home-medication", "psychological-comfort"}
    assert scope["activities_by_kind"] == {"health-lecture": 5}
    assert scope["staff_days_dispatched"] == 42
    assert scope["workers_total"] == 8  # the incubated agency's, not the sides' own staff
    province = report(demo_stack, token("province", region="22"), pairing=PAIRING).json()
    assert {k: v for k, v in province.items() if k != "scope"} == {
        k: v for k, v in scope.items() if k != "scope"
    }
    assert report(demo_stack, token("agency", "wenhua"), pairing=PAIRING).status_code == 200
    assert report(demo_stack, token("agency", "wenhua"), agency="lanxing").status_code == 403
    yanghua = token("agency", "yanghua")  # incubated by the pairing, not one of its sides
    assert report(demo_stack, yanghua, pairing=PAIRING).status_code == 403
    assert report(demo_stack, yanghua, f"/v1/reports/pairings/{PAIRING}").status_code == 403
    own = report(demo_stack, lanxing, breakdown="region").json()["breakdown"]
    assert [line["region"] for line in own] == ["22"]  # not Beijing, where evil is
