"""The overview's drill-down: the lines one level below a scope, whose figures add up to
the scope's own. Child regions are the lines of reporting's region breakdown (the API's
breakdown=region): a region an agency has since left keeps its days, and agencies at a
region's own code get a line of their own. A county's agencies are those it held on some
day of the period, each counted for its days there (placement.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.reporting.dashboard import queries
from services.reporting.dashboard.regions import region_name
from services.reporting.summary import Scope
from services.reporting.usecases import Reports, breakdown_regions


@dataclass(frozen=True)
class Line:
    code: str  # a region code or an agency id
    name: str
    scope: Scope  # the line's part of the page's scope: its summary is the line's figures
    params: dict[str, str]  # the query of the line's own page


def level(scope: Scope) -> str | None:
    """What the page breaks its scope into: child regions, a county's agencies, or nothing."""
    if scope.agency or scope.pairing or scope.project:
        return None
    if scope.region is not None and len(scope.region) >= 6:
        return "agency"
    return "region"


async def lines(reports: Reports, scope: Scope, drill: str | None) -> list[Line]:
    """The drill-down's lines of an authorized scope; each line's scope only narrows it."""
    prefix = scope.region or ""
    if drill == "region":
        async with reports.pool.acquire() as conn:
            codes = await breakdown_regions(conn, prefix, scope)
        return [
            Line(
                code,
                region_name(code) + ("（本级）" if code == prefix else ""),
                replace(scope, region=code, region_exact=code == prefix),
                {"region": code},
            )
            for code in codes
        ]
    if drill == "agency":
        agencies = await queries.agencies_in(reports.pool, scope)
        names = await queries.agency_names(reports.pool, agencies, scope.bounds()[1])
        return [
            Line(
                agency,
                names.get(agency, agency),
                replace(scope, agency=agency),
                {"region": prefix, "agency": agency},
            )
            for agency in agencies
        ]
    return []
