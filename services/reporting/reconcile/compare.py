"""Which scopes to check, and the differences between two sets of figures. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from services.reporting.reconcile.plain import History, Scope

REGION_LEVELS = (2, 4, 6, 12)  # GB/T 2260: province, prefecture, county, community


def scopes(
    history: History,
    today: date,
    region: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[Scope]:
    """Every scope of the history (all, each region at every level present, each agency,
    pairing and project), "so far" and for each calendar year of a fact, or only for
    [start, end] when given; narrowed to `region` when given."""
    agencies = history.agencies
    place = {a: p.region_code for a, p in agencies.items()}

    def inside(agency: str) -> bool:
        return region is None or place.get(agency, "").startswith(region)

    # every region an agency was ever in: history stays where it happened (SPEC 3.6)
    codes = {
        cast(Any, e.payload).region_code
        for found in history.agency_registrations.values()
        for e in found
    }
    regions = sorted(
        {
            code[:n]
            for code in codes
            for n in REGION_LEVELS
            if n <= len(code) and (region is None or code[:n].startswith(region))
        }
    )
    senders = sorted({e.agency_id for e in history.all} | set(agencies))
    named: list[Scope] = [Scope()] if region is None else []
    named += [Scope(region=r) for r in regions]
    named += [Scope(agency=a) for a in senders if inside(a)]
    named += [
        Scope(pairing=p)
        for p, v in sorted(history.pairings.items())
        if inside(v.assisting_agency_id) or inside(v.assisted_agency_id)
    ]
    named += [Scope(project=p) for p, v in sorted(history.projects.items()) if inside(v.agency_id)]
    if start is not None or end is not None:
        periods = [(start, end)]
    else:
        periods = [(None, None)] + [
            (date(y, 1, 1), date(y, 12, 31)) for y in _years(history, today)
        ]
    return [
        Scope(s.region, s.agency, s.pairing, s.project, first, last)
        for first, last in periods
        for s in named
    ]


def _years(history: History, today: date) -> list[int]:
    """The calendar years in which some fact of the history happened, up to today's."""
    found = set()
    for e in history.live:
        for value in e.payload.model_dump().values():
            if isinstance(value, datetime):
                found.add(value.year)
            elif isinstance(value, date):
                found.add(value.year)
    return sorted(y for y in found if 1900 <= y <= today.year)


@dataclass(frozen=True)
class Difference:
    scope: Scope
    kpi: str
    served: Any
    recomputed: Any

    def line(self) -> str:
        parts = [
            f"{k}={v}"
            for k, v in (
                ("region", self.scope.region),
                ("agency", self.scope.agency),
                ("pairing", self.scope.pairing),
                ("project", self.scope.project),
                ("from", self.scope.start),
                ("to", self.scope.end),
            )
            if v is not None
        ]
        where = " ".join(parts) or "all"
        return f"DIFF [{where}] {self.kpi}: served {self.served!r}, recomputed {self.recomputed!r}"


def differences(
    scope: Scope, served: dict[str, Any], recomputed: dict[str, Any]
) -> list[Difference]:
    """Every KPI (and every key of a KPI by kind or service) whose values differ."""
    out: list[Difference] = []
    for kpi, want in recomputed.items():
        got = served.get(kpi)
        if isinstance(want, dict) and isinstance(got, dict):
            for key in sorted(set(want) | set(got)):
                if not _same(got.get(key), want.get(key)):
                    out.append(Difference(scope, f"{kpi}.{key}", got.get(key), want.get(key)))
        elif not _same(got, want):
            out.append(Difference(scope, kpi, got, want))
    return out


def unchecked(served: dict[str, Any], recomputed: dict[str, Any]) -> list[str]:
    """KPIs reporting serves that the plain recomputation does not know (yet)."""
    return sorted(set(served) - set(recomputed) - {"scope", "breakdown"})


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, datetime) and isinstance(got, str):
        return datetime.fromisoformat(got) == want
    if isinstance(want, float) and isinstance(got, int | float):
        return abs(got - want) < 1e-9
    return bool(got == want)
