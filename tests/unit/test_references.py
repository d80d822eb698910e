"""What a payload may claim about other agencies and pairings (intake, no I/O)."""

from __future__ import annotations

from typing import Any

from services.intake.domain import parse_request
from services.intake.references import Owner, check
from tests.support.events import agency, envelope, pairing


def _dispatch(sender: str) -> dict[str, Any]:
    return envelope(
        "staff-dispatched",
        {
            "dispatch_id": "d1",
            "pairing_id": "p1",
            "worker_id": "w1",
            "from_date": "2019-06-01",
            "to_date": "2019-06-03",
        },
        agency_id=sender,
    )


def _outcomes(events: list[dict[str, Any]], owners: dict[Any, Owner] | None = None) -> list[str]:
    request = parse_request(events)
    check(request.valid, owners or {})
    return [s.errors[0]["code"] if s.status == "rejected" else "ok" for s in request.submissions]


def test_an_agency_registers_itself_and_its_own_workers() -> None:
    other = agency("yanghua", "222405")
    other["agency_id"] = "evil"
    worker = envelope(
        "worker-registered",
        {
            "worker_id": "w1",
            "agency_id": "lanxing",
            "role": "volunteer",
            "licence": "senior",
            "languages": ["zh"],
        },
        agency_id="evil",
    )
    assert _outcomes([agency("evil", "110101"), other, worker]) == [
        "ok",
        "forbidden_reference",
        "forbidden_reference",
    ]


def test_incubated_agencies_are_registered_by_the_assisting_side_of_a_knownpairing() -> None:
    incubated = agency("yanghua", "222405", incubated_by_pairing_id="p1")
    incubated["agency_id"] = "lanxing"
    self_declared = agency("evil", "222405", incubated_by_pairing_id="p1")
    assert _outcomes([incubated]) == ["unknown_reference"]  # the pairing is not known yet
    assert _outcomes([pairing("lanxing"), incubated, self_declared]) == [
        "ok",
        "ok",
        "forbidden_reference",
    ]


def test_pairing_ids_belong_to_their_first_owner_and_only_sides_report_on_them() -> None:
    owners = {("pairing", "p1"): Owner("lanxing", "lanxing", "wenhua")}
    assert _outcomes([pairing("evil")]) == ["forbidden_reference"]  # not one of its sides
    assert _outcomes([pairing("wenhua")], owners) == ["forbidden_reference"]  # taken by lanxing
    assert _outcomes([pairing("lanxing")], owners) == ["ok"]  # its owner may restate it
    assert _outcomes([_dispatch("lanxing"), _dispatch("evil")], owners) == [
        "ok",
        "forbidden_reference",
    ]
    assert _outcomes([_dispatch("evil")]) == ["ok"]  # unknown pairing: accepted, reporting filters
