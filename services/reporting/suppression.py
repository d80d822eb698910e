"""Small-cell suppression for reports that leave the department.

Counts of people (and of visits to them: the KPIs the registry marks `people`) from 1 to 4
are shown as "<5". Where a hidden cell
could be recovered by subtraction, a second cell is hidden too (complementary
suppression): within a breakdown by service or kind, and across the lines of a breakdown
by period or region, whose cells add up to the shown total. A rate built from a hidden
count is hidden. Zero stays zero: it reveals no one.
"""

from __future__ import annotations

import copy
from typing import Any

from services.reporting.kpis import PEOPLE_COUNTS as SCALARS
from services.reporting.kpis import PEOPLE_MAPS as MAPS
from services.reporting.kpis import RATES

HIDDEN = "<5"


def _small(value: Any) -> bool:
    return isinstance(value, int) and 1 <= value <= 4


def _hide_smallest_other(cells: dict[str, Any], hidden: set[str]) -> None:
    """When exactly one cell of a group is hidden, hide the smallest other non-zero one."""
    if len(hidden) != 1:
        return
    others = [(v, k) for k, v in cells.items() if k not in hidden and isinstance(v, int) and v > 0]
    if others:
        _, key = min(others)
        cells[key] = HIDDEN


def suppress_kpis(kpis: dict[str, Any]) -> dict[str, Any]:
    """A copy of one summary with its small cells hidden."""
    out = copy.deepcopy(kpis)
    for key in SCALARS:
        if _small(out.get(key)):
            out[key] = HIDDEN
    for key in MAPS:
        cells = out.get(key, {})
        hidden = {k for k, v in cells.items() if _small(v)}
        for k in hidden:
            cells[k] = HIDDEN
        _hide_smallest_other(cells, hidden)
    _hide_rates(out)
    return out


def _hide_rates(kpis: dict[str, Any]) -> None:
    """A rate built from a hidden count is hidden too."""
    for rate in RATES:
        if rate.rate_of and HIDDEN in (kpis.get(rate.rate_of[0]), kpis.get(rate.rate_of[1])):
            kpis[rate.name] = None


def _cells(kpis: dict[str, Any]) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {(key, ""): kpis.get(key) for key in SCALARS}
    for key in MAPS:
        for sub, value in kpis.get(key, {}).items():
            found[(key, sub)] = value
    return found


def _hide(kpis: dict[str, Any], cell: tuple[str, str]) -> None:
    key, sub = cell
    if sub:
        kpis[key][sub] = HIDDEN
    else:
        kpis[key] = HIDDEN
        _hide_rates(kpis)


def suppress_report(body: dict[str, Any]) -> dict[str, Any]:
    """A whole summary response (with its breakdown lines, if any) ready to leave."""
    out = suppress_kpis(body)
    out["suppression"] = "counts of 1 to 4 shown as <5, with complementary suppression"
    lines = out.get("breakdown") or []
    for line in lines:
        line["summary"] = suppress_kpis(line["summary"])
    summaries = [line["summary"] for line in lines]
    for cell in {c for s in summaries for c in _cells(s)}:
        hidden = [s for s in summaries if _cells(s).get(cell) == HIDDEN]
        if len(hidden) != 1:
            continue
        others = [
            (v, i)
            for i, s in enumerate(summaries)
            if isinstance(v := _cells(s).get(cell), int) and v > 0
        ]
        if others:
            _hide(summaries[min(others)[1]], cell)
    return out
