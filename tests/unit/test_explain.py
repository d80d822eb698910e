"""Explain's plain parts: every KPI says what its rows are, the cursor is opaque and checked,
and a figure named wrongly is a 422 on `kpi`."""

from __future__ import annotations

import pytest

from services.reporting.explain import basis, cursor_at, parse, position_of
from services.reporting.explain.bases import BASES, NOT_EVENTS
from services.reporting.kpis import KPIS
from shared.errors import Invalid


def test_every_kpi_is_explained_or_says_why_not() -> None:
    """A KPI added to the registry without rows behind it fails here, not in a user's hands."""
    assert {k.name for k in KPIS} == set(BASES) | set(NOT_EVENTS)
    assert not set(BASES) & set(NOT_EVENTS)


def test_a_figure_is_a_name_and_maybe_a_cell() -> None:
    assert parse("visits_by_service.home-medication") == ("visits_by_service", "home-medication")
    assert parse("visit_minutes") == ("visit_minutes", None)
    assert basis("agencies", "incubated") is BASES["agencies"]


@pytest.mark.parametrize(
    ("kpi", "key"),
    [("nonsense", None), ("licensed_rate", None), ("as_of", None),
     ("visits_by_service", "teleport"), ("visit_minutes", "x")],
)  # fmt: skip
def test_a_figure_named_wrongly_is_refused_on_kpi(kpi: str, key: str | None) -> None:
    with pytest.raises(Invalid) as refused:
        basis(kpi, key)
    assert refused.value.errors[0]["path"] == "kpi"


def test_the_cursor_goes_round_and_refuses_what_it_did_not_make() -> None:
    assert position_of(cursor_at("home-medication", "lanxing", "e-1")) == (
        "home-medication", "lanxing", "e-1",
    )  # fmt: skip
    assert position_of(None) == (None, None, None)
    for forged in (
        "not-a-cursor",
        cursor_at("a", "b"),
        "W10",
        "!!!",
        "é",
        cursor_at("\x00", "a", "b"),
    ):
        with pytest.raises(Invalid):
            position_of(forged)
