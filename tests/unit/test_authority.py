"""Who may say what (SPEC 3.6), decided by the principal, in intake (no I/O)."""

from __future__ import annotations

from typing import Any

from services.intake.authority import check
from services.intake.domain import parse_request
from services.intake.known import Known, Pairing, Target
from shared.events import EventRetracted
from shared.tokens import Principal
from tests.support.events import agency, envelope, pairing, visit

LANXING = Principal("agency", agency_id="lanxing")
WENHUA = Principal("agency", agency_id="wenhua")
JILIN = Principal("province", region="22")
YANBIAN = Principal("province", region="2224")
ADMIN = Principal("admin")


def _known() -> Known:
    return Known(
        regions={"lanxing": "220102", "wenhua": "222405", "yanghua": "222405"},
        incubated_by={"yanghua": "p1"},
        pairings={"p1": Pairing("lanxing", "wenhua")},
    )


def _outcomes(principal: Principal, events: list[dict[str, Any]], known: Known) -> list[str]:
    request = parse_request(events)
    check(principal, request.valid, known)
    return [s.errors[0]["code"] if s.status == "rejected" else "ok" for s in request.submissions]


def _paths(principal: Principal, events: list[dict[str, Any]], known: Known) -> list[str]:
    request = parse_request(events)
    check(principal, request.valid, known)
    return [s.errors[0]["path"] if s.status == "rejected" else "ok" for s in request.submissions]


def _work(kind: str, sender: str, pairing_id: str = "p1") -> dict[str, Any]:
    payload = {
        "staff-dispatched": {
            "dispatch_id": "d1",
            "pairing_id": pairing_id,
            "worker_id": "w1",
            "from_date": "2019-06-01",
            "to_date": "2019-06-03",
        },
        "milestone-reached": {
            "pairing_id": pairing_id,
            "milestone": "systems-established",
            "reached_on": "2019-12-20",
        },
    }[kind]
    return envelope(kind, payload, agency_id=sender)


def test_only_a_province_over_both_sides_or_admin_establishes_a_pairing() -> None:
    known = Known(regions={"lanxing": "220102", "wenhua": "222405"})
    assert _outcomes(LANXING, [pairing("lanxing")], known) == ["forbidden_reference"]
    assert _outcomes(YANBIAN, [pairing("lanxing")], known) == ["forbidden_reference"]
    assert _outcomes(Principal("province", region="11"), [pairing("lanxing")], known) == [
        "forbidden_reference"
    ]
    assert _outcomes(JILIN, [pairing("lanxing")], Known(regions={"lanxing": "220102"})) == [
        "forbidden_reference"  # wenhua not registered: the province cannot tell it is its own
    ]
    assert _outcomes(JILIN, [pairing("lanxing")], known) == ["ok"]
    assert _outcomes(ADMIN, [pairing("lanxing")], Known()) == ["ok"]


def test_the_sides_of_a_pairing_never_change() -> None:
    re_sided = pairing("lanxing")
    re_sided["payload"]["assisted_agency_id"] = "yanghua"
    assert _paths(JILIN, [re_sided], _known()) == ["payload.assisted_agency_id"]
    targets = pairing("lanxing")
    targets["payload"]["targets"]["staff_days_per_year"] = 60
    assert _outcomes(JILIN, [targets], _known()) == ["ok"]  # a new target is a change


def test_the_province_registers_agencies_and_those_a_pairing_incubated() -> None:
    known = Known()
    events = [
        agency("lanxing", "220102", role="assisting"),
        agency("wenhua", "222405", role="community"),
        pairing("lanxing"),
        agency("yanghua", "222405", incubated_by_pairing_id="p1"),
    ]
    assert _outcomes(JILIN, events, known) == ["ok"] * 4
    assert _outcomes(YANBIAN, [agency("x", "220102")], Known()) == ["forbidden_reference"]


def test_takeover_of_a_registered_agency_is_refused() -> None:
    takeover = agency("yanghua", "220102", incubated_by_pairing_id="p1")
    takeover["agency_id"] = "lanxing"
    takeover["occurred_at"] = "2030-01-01T00:00:00+08:00"
    assert _outcomes(LANXING, [takeover], _known()) == ["forbidden_reference"]
    # the assisting side may register an agency its pairing incubates, the first time only
    first = agency("newbie", "222405", incubated_by_pairing_id="p1")
    first["agency_id"] = "lanxing"
    assert _outcomes(LANXING, [first], _known()) == ["ok"]
    # a province moves an agency only inside its prefix; the agency moves itself
    assert _outcomes(YANBIAN, [agency("yanghua", "220102")], _known()) == ["forbidden_reference"]
    assert _outcomes(JILIN, [agency("yanghua", "220102")], _known()) == ["ok"]
    own = agency("yanghua", "110101")
    assert _outcomes(Principal("agency", agency_id="yanghua"), [own], _known()) == ["ok"]


def test_pairing_work_comes_from_its_sides_or_its_province() -> None:
    for kind in ("staff-dispatched", "milestone-reached"):
        assert _outcomes(LANXING, [_work(kind, "lanxing")], _known()) == ["ok"]
        assert _outcomes(WENHUA, [_work(kind, "wenhua")], _known()) == ["ok"]
        evil = Principal("agency", agency_id="evil")
        assert _outcomes(evil, [_work(kind, "evil")], _known()) == ["forbidden_reference"]
        assert _outcomes(JILIN, [_work(kind, "lanxing")], _known()) == ["ok"]
    # unknown pairing: kept (reporting counts only its sides' events once it is known)
    assert _outcomes(LANXING, [_work("staff-dispatched", "lanxing", "p9")], _known()) == ["ok"]


def test_cross_agency_visits_follow_the_pairings() -> None:
    to_yanghua = visit("e1", agency_id="lanxing", client_agency_id="yanghua")
    to_wenhua = visit("e1", agency_id="lanxing", client_agency_id="wenhua")
    assert _outcomes(LANXING, [to_yanghua, to_wenhua], _known()) == ["ok", "ok"]
    stranger = visit("e1", agency_id="evil", client_agency_id="yanghua")
    evil = Principal("agency", agency_id="evil")
    assert _paths(evil, [stranger], _known()) == ["payload.client_agency_id"]
    # yanghua was incubated by p1, but is not a side: it does not visit wenhua's clients
    sideways = visit("e1", agency_id="yanghua", client_agency_id="wenhua")
    yanghua = Principal("agency", agency_id="yanghua")
    assert _outcomes(yanghua, [sideways], _known()) == ["forbidden_reference"]


def test_retractions_follow_the_target_and_are_not_retractable() -> None:
    known = _known()
    pairing_event = pairing("lanxing")
    known.targets[("lanxing", "pair-1")] = Target(
        "pairing-established",
        parse_request(pairing_event).valid[0].event.payload,  # type: ignore[union-attr]
    )
    known.targets[("lanxing", "undo-1")] = Target(
        "event-retracted", EventRetracted(target_event_id="x", reason="mistake")
    )

    def retract(target: str) -> dict[str, Any]:
        return envelope(
            "event-retracted", {"target_event_id": target, "reason": "wrong"}, agency_id="lanxing"
        )

    assert _outcomes(LANXING, [retract("pair-1")], known) == ["forbidden_reference"]
    assert _outcomes(JILIN, [retract("pair-1")], known) == ["ok"]
    assert _outcomes(LANXING, [retract("undo-1")], known) == ["not_retractable"]
    assert _outcomes(ADMIN, [retract("undo-1")], known) == ["not_retractable"]


def _certification(kind: str, agency_id: str) -> dict[str, Any]:
    payload = {
        "certification-obtained": {
            "worker_id": "w1", "licence": "assistant", "obtained_on": "2019-12-01",
        },
        "certification-revoked": {
            "worker_id": "w1", "licence": "assistant", "revoked_on": "2020-03-01",
            "reason": "licence not renewed",
        },
    }[kind]  # fmt: skip
    return envelope(kind, payload, agency_id=agency_id)


def test_a_revocation_comes_from_whoever_may_report_the_certification() -> None:
    revoked = _certification("certification-revoked", "wenhua")
    evil = Principal("agency", agency_id="evil")
    assert _outcomes(LANXING, [revoked], _known()) == ["ok"]  # the other side of p1
    assert _outcomes(WENHUA, [revoked], _known()) == ["ok"]
    assert _outcomes(YANBIAN, [revoked], _known()) == ["ok"]
    assert _outcomes(ADMIN, [revoked], _known()) == ["ok"]
    assert _paths(evil, [revoked], _known()) == ["agency_id"]
    assert _outcomes(Principal("province", region="11"), [revoked], _known()) == [
        "forbidden_reference"
    ]


def test_a_partner_retracts_a_certification_of_the_side_it_is_paired_with_only() -> None:
    known = _known()
    for event_id, event in (
        ("cert-1", _certification("certification-obtained", "wenhua")),
        ("revoke-1", _certification("certification-revoked", "wenhua")),
        ("visit-1", visit("visit-1", agency_id="wenhua")),
        ("undo-1", envelope("event-retracted", {"target_event_id": "x", "reason": "r"})),
    ):
        payload = parse_request(event).valid[0].event.payload  # type: ignore[union-attr]
        known.targets[("wenhua", event_id)] = Target(event["type"], payload)

    def retract(target: str) -> dict[str, Any]:
        return envelope(
            "event-retracted", {"target_event_id": target, "reason": "wrong"}, agency_id="wenhua"
        )

    assert _outcomes(LANXING, [retract("cert-1"), retract("revoke-1")], known) == ["ok", "ok"]
    # anything else of wenhua's, or a target intake does not hold (it could be anything)
    assert _paths(LANXING, [retract("visit-1"), retract("later")], known) == [
        "payload.target_event_id",
        "payload.target_event_id",
    ]
    assert _outcomes(LANXING, [retract("undo-1")], known) == ["not_retractable"]
    # the agency itself and its province, as before
    assert _outcomes(WENHUA, [retract("visit-1"), retract("later")], known) == ["ok", "ok"]
    assert _outcomes(YANBIAN, [retract("cert-1")], known) == ["ok"]
    # a stranger gets nothing through, even with a certification as the target
    evil = Principal("agency", agency_id="evil")
    assert _outcomes(evil, [retract("cert-1")], known) == ["forbidden_reference"]
