"""Reporting's plain rules: periods, access, fact rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from deploy.demo import reference_programme
from services.reporting.access import authorize
from services.reporting.facts import fact_rows
from services.reporting.periods import buckets, child_length, period_range
from services.reporting.summary import Scope
from shared.clock import china_date
from shared.errors import Forbidden
from shared.events import canonical_of, incoming_events
from shared.tokens import Principal


def test_periods() -> None:
    assert period_range("2019") == (date(2019, 1, 1), date(2019, 12, 31))
    assert period_range("2020-Q1") == (date(2020, 1, 1), date(2020, 3, 31))
    assert period_range("2020-02") == (date(2020, 2, 1), date(2020, 2, 29))
    with pytest.raises(ValueError):
        period_range("2020-13")
    assert [b[0] for b in buckets(date(2019, 11, 15), date(2020, 2, 3), "month")] == [
        "2019-11",
        "2019-12",
        "2020-01",
        "2020-02",
    ]
    assert buckets(date(2019, 11, 15), date(2020, 2, 3), "quarter")[0][1:] == (
        date(2019, 11, 15),
        date(2019, 12, 31),
    )
    assert [child_length(r) for r in ("", "22", "2224", "222405")] == [2, 4, 6, 12]


def test_china_dates() -> None:
    assert china_date(datetime(2019, 12, 31, 17, 0, tzinfo=UTC)) == date(2020, 1, 1)


def test_access_rules() -> None:
    lanxing = Principal("agency", agency_id="lanxing")
    assert authorize(lanxing, Scope(), None, None).agency == "lanxing"
    with pytest.raises(Forbidden):
        authorize(lanxing, Scope(agency="yanghua"), None, None)
    with pytest.raises(Forbidden):
        authorize(lanxing, Scope(region="22"), None, None)
    sides = {"lanxing", "wenhua"}
    members = sides | {"yanghua"}  # yanghua: incubated by the pairing, not a side
    assert authorize(lanxing, Scope(pairing="p"), members, None, None, sides).pairing == "p"
    with pytest.raises(Forbidden):
        authorize(lanxing, Scope(pairing="p"), {"other"}, None, None, {"other"})
    with pytest.raises(Forbidden):  # SPEC 3.6: only the two sides read a pairing's scope
        authorize(Principal("agency", agency_id="yanghua"), Scope(pairing="p"), members, None,
                  None, sides)  # fmt: skip
    jilin = Principal("province", region="22")
    assert authorize(jilin, Scope(), None, None).region == "22"
    assert authorize(jilin, Scope(region="2224"), None, None).region == "2224"
    with pytest.raises(Forbidden):
        authorize(jilin, Scope(region="11"), None, None)
    regions = {"lanxing": "220102", "beijing-a": "110101"}
    assert authorize(jilin, Scope(agency="lanxing"), None, None, regions).agency == "lanxing"
    with pytest.raises(Forbidden):  # an agency outside the province: 403, not an empty report
        authorize(jilin, Scope(agency="beijing-a"), None, None, regions)
    with pytest.raises(Forbidden):  # a pairing with no agency in the province
        authorize(jilin, Scope(pairing="bj"), {"beijing-a"}, None, regions)
    assert (
        authorize(jilin, Scope(pairing="p"), {"lanxing", "beijing-a"}, None, regions).region == "22"
    )


def test_fact_rows_mark_already_retracted_events() -> None:
    raw = next(e for e in reference_programme() if e["type"] == "visit-logged")
    event = canonical_of(incoming_events.validate_python(raw), "222405", datetime.now(UTC))
    rows = fact_rows([event], {(event.agency_id, event.event_id)})
    assert rows["visit_facts"][0][:3] == (event.agency_id, event.event_id, True)
    assert fact_rows([event], set())["visit_facts"][0][2] is False
