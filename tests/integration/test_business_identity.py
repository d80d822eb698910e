"""Business identity (SPEC 3.6) across intake, scheduling and reporting on the real stack:
a fact counts once however often and by whom it is sent, the newest values win, a
client is (client's agency, client id), staff-days are distinct (pairing, worker, day)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from deploy.stack import Stack
from tests.support.events import agency, client, envelope, visit
from tests.support.intake import answers
from tests.support.polling import eventually
from tests.support.reports import report

Token = Callable[..., str]
PAIRING = "lx-yh"


def _start(stack: Stack, tmp_path: Path, at: str) -> None:
    clock = tmp_path / "clock"
    clock.write_text(at)
    stack.extra_env.update({"QIANSHOU_CLOCK_FILE": str(clock)})
    stack.up("intake", "scheduling", "reporting")


def _accepted(stack: Stack, events: list[dict[str, Any]], token: str) -> None:
    assert [r["status"] for r in answers(stack, events, token)] == ["accepted"] * len(events)


async def _reflected(stack: Stack, token: Token, event: dict[str, Any]) -> None:
    """Wait until reporting reflects everything intake recorded up to `event`."""
    recorded = httpx.get(
        f"{stack.services['intake'].url}/v1/events/{event['event_id']}",
        params={"agency": event["agency_id"]},
        headers={"Authorization": f"Bearer {token('admin')}"},
    ).json()["recorded_at"]

    def done() -> bool:
        as_of = report(stack, token("admin")).json().get("as_of")
        return bool(as_of) and datetime.fromisoformat(as_of) >= datetime.fromisoformat(recorded)

    await eventually(done, timeout_s=30, what="reporting caught up")


def _pairing_event() -> dict[str, Any]:
    return envelope(
        "pairing-established",
        {
            "pairing_id": PAIRING,
            "assisting_agency_id": "lanxing",
            "assisted_agency_id": "yanghua",
            "starts_on": "2019-05-01",
            "targets": {
                "staff_days_per_year": 40,
                "agencies_to_incubate": 1,
                "projects_to_undertake": 1,
            },
        },
        agency_id="lanxing",
    )


def _setup(stack: Stack, token: Token) -> None:
    """Lanxing (Changchun) and Yanghua (Longjing), paired by the Jilin province; a worker
    each, and two of Yanghua's elders."""
    jilin = token("province", region="22")
    _accepted(
        stack,
        [
            agency("lanxing", "220102", role="assisting"),
            agency("yanghua", "222405"),
            _pairing_event(),
        ],
        jilin,
    )
    workers = [
        envelope(
            "worker-registered",
            {"worker_id": w, "agency_id": a, "role": "social-worker", "licence": "none",
             "languages": ["zh", "ko"]},
            agency_id=a,
        )
        for w, a in (("kim", "yanghua"), ("zhao", "lanxing"))
    ]  # fmt: skip
    _accepted(stack, [workers[0], client("c-1", agency_id="yanghua"),
                      client("c-2", agency_id="yanghua")], token("agency", "yanghua"))  # fmt: skip
    _accepted(stack, [workers[1]], token("agency", "lanxing"))


def _plan(plan_id: str, client_id: str) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "client_id": client_id,
        "service": "home-medication",
        "recurrence": {"kind": "weekly", "start": "2019-11-04", "count": 4},
        "window": {"start": "09:00", "end": "11:00"},
    }


async def _create_plan(stack: Stack, token: str, plan: dict[str, Any]) -> list[dict[str, Any]]:
    url = f"{stack.services['scheduling'].url}/v1/care-plans"

    def created() -> list[dict[str, Any]] | None:
        resp = httpx.post(url, json=plan, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 422:
            return None  # scheduling has not consumed the client yet
        assert resp.status_code == 201, resp.text
        return resp.json()["slots"]  # type: ignore[no-any-return]

    return await eventually(created, timeout_s=30, what="plan created")  # type: ignore[no-any-return]


def _slots(stack: Stack, token: str) -> dict[str, str]:
    resp = httpx.get(
        f"{stack.services['scheduling'].url}/v1/visits",
        params={"agency": "yanghua"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text
    return {s["slot_id"]: s["status"] for s in resp.json()["visits"]}


async def test_a_visit_counts_once_and_closes_one_slot_of_the_clients_agency(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    _setup(stack, token)
    yanghua, lanxing = token("agency", "yanghua"), token("agency", "lanxing")
    c1 = await _create_plan(stack, yanghua, _plan("p-c1", "c-1"))
    c2 = await _create_plan(stack, yanghua, _plan("p-c2", "c-2"))

    # A visit in week 2, then the same visit re-sent under a new event id: identical, then
    # corrected (45 minutes instead of 30). On a plan, so a second version could otherwise
    # close the plan's earlier open slot too.
    first = visit("c-1", agency_id="yanghua", worker_id="kim", plan_id="p-c1",
                  started_at="2019-11-11T09:40:00+08:00", minutes=30)  # fmt: skip
    first["payload"]["visit_id"] = "v-1"
    _accepted(stack, [first], yanghua)
    again = {**first, "event_id": "v-1-again"}
    [answer] = answers(stack, [again], yanghua)
    assert answer["status"] == "duplicate"
    assert answer["duplicate_of"] == {"agency_id": "yanghua", "event_id": first["event_id"]}
    corrected = {
        **first,
        "event_id": "v-1-corrected",
        "occurred_at": "2019-11-11T12:00:00+08:00",
        "payload": {**first["payload"], "duration_min": 45},
    }
    _accepted(stack, [corrected], yanghua)

    # Lanxing's worker visits Yanghua's elder c-2 (the other side of their pairing).
    cross = visit("c-2", agency_id="lanxing", worker_id="zhao", client_agency_id="yanghua",
                  started_at="2019-11-04T09:30:00+08:00", minutes=60)  # fmt: skip
    _accepted(stack, [cross], lanxing)
    await _reflected(stack, token, cross)

    # The clock stands at 1 November (slots are due); the report covers the visits after it.
    until = {"to": "2019-12-31"}
    province = report(stack, token("admin"), region="22", **until).json()
    assert province["visits_by_service"] == {"home-medication": 2}
    assert province["visit_minutes"] == 45 + 60  # the corrected value, once
    assert province["clients_registered"] == 2
    assert province["clients_served"] == 2  # c-1, and c-2 once though visited by lanxing
    own = report(stack, lanxing, **until).json()
    assert (own["visits_by_service"], own["clients_registered"]) == ({"home-medication": 1}, 0)

    def closed() -> dict[str, str] | None:
        slots = _slots(stack, yanghua)
        done = {s for s, status in slots.items() if status == "done"}
        return slots if done == {c1[1]["slot_id"], c2[0]["slot_id"]} else None

    slots = await eventually(closed, timeout_s=30, what="one slot per visit closed")
    assert [slots[s["slot_id"]] == "done" for s in c1] == [False, True, False, False]
    assert [slots[s["slot_id"]] == "done" for s in c2] == [True, False, False, False]


async def test_pairing_facts_count_once_whoever_reports_them(
    stack: Stack, token: Token, tmp_path: Path
) -> None:
    _start(stack, tmp_path, "2019-11-01T08:00:00+08:00")
    _setup(stack, token)
    yanghua, lanxing = token("agency", "yanghua"), token("agency", "lanxing")
    training = envelope(
        "training-completed",
        {"training_id": "tr-1", "pairing_id": PAIRING, "kind": "thematic-training",
         "held_on": "2019-06-10", "hours": 3.0, "trainer_agency_id": "lanxing",
         "attendee_worker_ids": ["kim"]},
        agency_id="lanxing",
    )  # fmt: skip
    _accepted(stack, [training], lanxing)
    both_sides = {**training, "event_id": "tr-1-by-yanghua", "agency_id": "yanghua"}
    [answer] = answers(stack, [both_sides], yanghua)
    assert (answer["status"], answer["duplicate_of"]["agency_id"]) == ("duplicate", "lanxing")
    longer = {
        **both_sides,
        "event_id": "tr-1-corrected",
        "occurred_at": "2019-11-05T09:30:00+08:00",
        "payload": {**training["payload"], "hours": 4.0},
    }
    _accepted(stack, [longer], yanghua)

    def dispatch(dispatch_id: str, start: str, end: str) -> dict[str, Any]:
        return envelope(
            "staff-dispatched",
            {"dispatch_id": dispatch_id, "pairing_id": PAIRING, "worker_id": "zhao",
             "from_date": start, "to_date": end},
            agency_id="lanxing",
        )  # fmt: skip

    overlapping = [
        dispatch("d-1", "2019-06-03", "2019-06-07"),
        dispatch("d-2", "2019-06-05", "2019-06-09"),  # zhao again on the 5th to the 7th
    ]
    _accepted(stack, overlapping, lanxing)
    milestone = envelope(
        "milestone-reached",
        {"pairing_id": PAIRING, "milestone": "systems-established", "reached_on": "2019-10-20"},
        agency_id="lanxing",
    )
    _accepted(stack, [milestone], lanxing)
    later = {**milestone, "event_id": "m-yanghua", "agency_id": "yanghua",
             "occurred_at": "2019-11-05T10:00:00+08:00",
             "payload": {**milestone["payload"], "reached_on": "2019-10-25"}}  # fmt: skip
    _accepted(stack, [later], yanghua)
    await _reflected(stack, token, later)

    province = report(stack, token("admin"), region="22").json()
    assert province["trainings_by_kind"] == {"thematic-training": 1}
    assert province["training_hours"] == 4.0
    assert province["staff_days_dispatched"] == 7  # 3 to 9 June, not 5 + 5
    assert province["milestones"] == [
        {"pairing_id": PAIRING, "milestone": "systems-established", "reached_on": "2019-10-25"}
    ]
    by_pairing = report(stack, lanxing, pairing=PAIRING).json()
    assert (by_pairing["staff_days_dispatched"], by_pairing["training_hours"]) == (7, 4.0)
    pairing_report = report(stack, lanxing, f"/v1/reports/pairings/{PAIRING}").json()
    assert pairing_report["staff_days_by_programme_year"][0]["staff_days"] == 7

    def pace() -> dict[str, Any] | None:
        resp = httpx.get(
            f"{stack.services['scheduling'].url}/v1/pairings/{PAIRING}/dispatch",
            headers={"Authorization": f"Bearer {lanxing}"},
        )
        if resp.status_code != 200 or not resp.json()["current"]:
            return None
        return resp.json() if resp.json()["current"]["dispatched"] >= 7 else None

    answer = await eventually(pace, timeout_s=30, what="scheduling has the dispatches")
    assert answer["current"]["dispatched"] == 7
