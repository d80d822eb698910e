"""The national sum (services/reporting/national.py) of region summaries that share a
pairing: its milestones are listed once, though both sides' regions list them."""

from __future__ import annotations

from services.reporting.national import add_up


def test_a_pairings_milestone_seen_by_both_sides_regions_is_listed_once() -> None:
    shared = {"pairing_id": "p1", "milestone": "systems-established", "reached_on": "2019-12-20"}
    own = {"pairing_id": "p2", "milestone": "methods-mastered", "reached_on": "2020-01-02"}
    changchun = {"milestones": [shared], "staff_days_dispatched": 12}
    yanbian = {"milestones": [own, dict(shared)], "staff_days_dispatched": 12}
    total = add_up([changchun, yanbian])
    assert total["milestones"] == [shared, own]
    # sums stay sums: a pairing in two of the regions asked counts in each (module doc)
    assert total["staff_days_dispatched"] == 24
