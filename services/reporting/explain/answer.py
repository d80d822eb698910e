"""GET /v1/reports/explain's use case: authorize the scope as the summary does, then one
page of the rows behind the figure, read in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from services.reporting.explain import explain, parse
from services.reporting.snapshot import snapshot
from services.reporting.usecases import Reports, _describe
from shared.tokens import Principal


@dataclass(frozen=True)
class Filters:
    """The summary's filters (SPEC 3.4)."""

    region: str | None = None
    agency: str | None = None
    pairing: str | None = None
    project: str | None = None
    start: date | None = None
    end: date | None = None
    as_of: datetime | None = None  # SPEC 3.7: as intake had recorded events up to then


async def explanation(
    reports: Reports,
    principal: Principal,
    kpi: str,
    filters: Filters,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """The answer of GET /v1/reports/explain: a 403 wherever the summary would give one."""
    name, key = parse(kpi)
    f = filters
    scope = await reports.scope(principal, f.region, f.agency, f.pairing, f.project, f.start, f.end)
    scope = replace(scope, as_of=f.as_of)  # authorized as the summary is, then as of then
    async with (
        reports.pool.acquire() as conn,
        snapshot(conn),
    ):
        page = await explain(conn, scope, name, key, cursor=cursor, limit=limit)
    return {
        "kpi": page.kpi,
        "key": page.key,
        "adds": page.adds,
        "scope": _describe(scope),
        "rows": page.rows,
        "next_cursor": page.next_cursor,
    }
