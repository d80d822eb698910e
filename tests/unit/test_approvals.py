"""Approval rules without I/O (SPEC 3.9): who approves what, the figures' fingerprint and
the approval's id, and the difference between approved and today's figures."""

from __future__ import annotations

from typing import Any

import pytest

from services.reporting.approvals.domain import (
    approval_id,
    difference,
    figures_of,
    fingerprint,
    may_approve,
)
from services.reporting.approvals.late import IN_SCOPE
from services.reporting.facts import FACT_TABLES
from services.reporting.kpis import KPIS
from services.reporting.shard import Shard
from shared.errors import Forbidden
from shared.tokens import Principal

JILIN = Principal("province", region="22")
YANBIAN = Principal("province", region="2224")


def _figures(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {k.name: 0 for k in KPIS}
    base.update(
        agencies={"assisting": 1, "assisted": 2, "incubated": 0},
        visits_by_service={"home-medication": 131},
        milestones=[
            {"pairing_id": "p", "milestone": "agency-registered", "reached_on": "2020-05-01"}
        ],
        licensed_rate=0.5,
        as_of="2020-06-30T10:00:00+08:00",
    )
    return {**base, **changes}


def test_a_province_approves_inside_its_prefix_admin_anything_an_agency_nothing() -> None:
    may_approve(JILIN, "2224")
    may_approve(YANBIAN, "2224")
    may_approve(Principal("admin"), "11")
    may_approve(JILIN, None, ["220102", "222405"])
    refused = [
        (YANBIAN, "22", []),
        (JILIN, "21", []),
        (Principal("province", region="2201"), "2224", []),
        (Principal("agency", agency_id="yanghua"), "222405", []),
        (YANBIAN, None, ["220102", "222405"]),  # one side outside
        (JILIN, None, []),  # no such pairing: nothing to approve
    ]
    for principal, region, sides in refused:
        with pytest.raises(Forbidden) as refusal:
            may_approve(principal, region, sides)
        assert refusal.value.errors and refusal.value.message


def test_the_fingerprint_is_of_the_figures_not_of_when_they_stood() -> None:
    now, later = _figures(), _figures(as_of="2021-01-01T00:00:00+08:00")
    assert "as_of" not in figures_of(now)
    assert fingerprint(figures_of(now)) == fingerprint(figures_of(later))
    reordered = dict(reversed(list(figures_of(now).items())))
    assert fingerprint(reordered) == fingerprint(figures_of(now))
    assert fingerprint(figures_of(_figures(visit_minutes=1))) != fingerprint(figures_of(now))


def test_the_same_approval_again_has_the_same_id_and_a_new_one_another() -> None:
    one = approval_id({"region": "2224"}, "2020-04-01", "2020-06-30", "ab", "22", None)
    assert one == approval_id({"region": "2224"}, "2020-04-01", "2020-06-30", "ab", "22", None)
    assert one != approval_id({"region": "2224"}, "2020-04-01", "2020-06-30", "ab", "22", one)
    assert one != approval_id({"region": "2224"}, "2020-04-01", "2020-06-30", "cd", "22", None)


def test_the_difference_names_what_changed_per_kpi() -> None:
    approved = figures_of(_figures())
    milestone = {"pairing_id": "p", "milestone": "first-project", "reached_on": "2020-06-01"}
    today = figures_of(
        _figures(
            visits_by_service={"home-medication": 138, "proxy-shopping": 2},
            visit_minutes=210,
            licensed_rate=0.6,
            milestones=[*approved["milestones"], milestone],
        )
    )
    assert difference(approved, today) == {
        "visits_by_service": {"home-medication": 7, "proxy-shopping": 2},
        "visit_minutes": 210,
        "licensed_rate": 0.1,
        "milestones": {"added": [milestone], "removed": []},
    }
    assert difference(approved, approved) == {}


def test_a_shard_takes_approvals_from_every_region() -> None:
    """An approval goes under a region prefix token (events.2224.reporting...), which no
    shard's per-region filter names."""
    types = ("agency-registered", "visit-logged", "period-approved")
    assert Shard(("22",)).filter_subjects({"222405"}, types) == [
        "events.*.*.agency-registered",
        "events.*.*.period-approved",
        "events.222405.*.visit-logged",
        "events.unassigned.*.visit-logged",
    ]


def test_every_fact_table_says_which_of_its_rows_are_of_a_scope_and_period() -> None:
    """Else a late event of a new kind of fact would go unnoticed by approvals."""
    assert set(IN_SCOPE) == set(FACT_TABLES)
