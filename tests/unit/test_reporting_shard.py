"""Region shards of reporting: what a shard consumes and answers, and the national sum."""

from __future__ import annotations

import pytest

from services.reporting.national import add_up
from services.reporting.shard import Shard, region_tokens
from shared.errors import Misdirected

TYPES = ("agency-registered", "visit-logged")
JILIN = Shard(("22",), {"22": "http://a:8083", "44": "http://b:8083", "4403": "http://c:8083"})


def test_unsharded_instance_filters_by_type_from_every_region() -> None:
    shard = Shard()
    assert shard.durable == "reporting"
    assert shard.filter_subjects({"220102"}, TYPES) == [
        "events.*.*.agency-registered",
        "events.*.*.visit-logged",
    ]
    shard.check(None, {})  # answers everything


def test_a_shard_takes_its_regions_registrations_from_everywhere_and_unassigned() -> None:
    assert JILIN.durable == "reporting-22"
    tokens = JILIN.tokens({"220102", "222405", "440106", "unassigned", "2"})
    assert tokens == {"220102", "222405"}
    filters = JILIN.filter_subjects(tokens, TYPES)
    assert filters == [
        "events.*.*.agency-registered",
        "events.220102.*.visit-logged",
        "events.222405.*.visit-logged",
        "events.unassigned.*.visit-logged",
    ]
    assert len(set(filters)) == len(filters)


def test_region_tokens_of_subjects() -> None:
    subjects = ["events.220102.lanxing.agency-registered", "events.*.*.visit-logged", "x.y"]
    assert region_tokens(subjects) == {"220102", "*"}


def test_a_shard_answers_inside_its_regions_only_and_says_whom_to_ask() -> None:
    JILIN.check("22", {})
    JILIN.check("222405", {})
    JILIN.check(None, {"lanxing": "220102"})
    with pytest.raises(Misdirected) as outside:
        JILIN.check("440305", {})
    assert "http://c:8083" in outside.value.message  # the longest prefix in the directory
    with pytest.raises(Misdirected) as partial:
        JILIN.check("2", {})  # more than this shard holds
    assert partial.value.code == "wrong_shard"
    with pytest.raises(Misdirected):
        JILIN.check(None, {})  # the whole country
    with pytest.raises(Misdirected) as elsewhere:
        JILIN.check(None, {"lanxing": "220102", "tianhe": "440106"})  # a pairing across shards
    assert "http://b:8083" in elsewhere.value.message
    with pytest.raises(Misdirected):
        JILIN.check(None, {"nobody": None})  # an agency this shard has no region for


def test_national_sum_adds_counts_and_breakdowns_and_recomputes_the_rate() -> None:
    a = {
        "agencies": {"assisting": 1, "assisted": 2, "incubated": 0},
        "workers_total": 4,
        "workers_licensed": 1,
        "licensed_rate": 0.25,
        "visits_by_service": {"home-care": 3},
        "training_hours": 1.5,
        "milestones": [{"pairing_id": "p2", "milestone": "m", "reached_on": "2020-01-01"}],
        "as_of": "2020-01-02T00:00:00+00:00",
        "scope": {"region": "22"},
    }
    b = {
        "agencies": {"assisting": 0, "assisted": 1, "incubated": 1},
        "workers_total": 4,
        "workers_licensed": 3,
        "licensed_rate": 0.75,
        "visits_by_service": {"home-care": 1, "other": 2},
        "training_hours": 2.0,
        "milestones": [{"pairing_id": "p1", "milestone": "m", "reached_on": "2020-01-01"}],
        "as_of": "2020-01-01T00:00:00+00:00",
        "scope": {"region": "44"},
    }
    total = add_up([a, b])
    assert total["agencies"] == {"assisted": 3, "assisting": 1, "incubated": 1}
    assert total["workers_total"] == 8 and total["licensed_rate"] == 0.5
    assert total["visits_by_service"] == {"home-care": 4, "other": 2}
    assert total["training_hours"] == 3.5
    assert [m["pairing_id"] for m in total["milestones"]] == ["p1", "p2"]
    assert total["as_of"] == "2020-01-01T00:00:00+00:00"  # as fresh as the slowest shard
    assert "scope" not in total
    assert add_up([{"workers_total": 0, "workers_licensed": 0}])["licensed_rate"] is None
