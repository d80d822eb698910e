"""Reporting's use cases: resolve and authorize a scope, build summaries and breakdowns,
report on a pairing, publish a period's report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import asyncpg
import orjson
from nats.js import JetStreamContext

from services.reporting import access
from services.reporting.basis import Basis, agency_periods
from services.reporting.pairing_report import pairing_report
from services.reporting.periods import buckets, child_length, period_range
from services.reporting.placement import named_agencies
from services.reporting.shard import Shard
from services.reporting.snapshot import snapshot
from services.reporting.summary import (
    Scope,
    pairing_members,
    pairing_sides,
    summary,
)
from shared import publishing
from shared.clock import Clock, SystemClock, today_in_china
from shared.errors import Forbidden, Invalid, NotFound, Unavailable, field_error
from shared.events import ReportPublished, service_event
from shared.subjects import msg_id, report
from shared.tokens import Principal

REPORTING_AGENCY = "reporting"
MAX_LINES = 120  # ten years by month  # the envelope's agency_id for events reporting emits
PUBLISH_WITHIN_S = 20.0  # an HTTP caller waits this long through an election, then gets 503


@dataclass
class Reports:
    pool: asyncpg.Pool
    js: JetStreamContext | None = None
    clock: Clock = field(default_factory=SystemClock)
    shard: Shard = field(default_factory=Shard)  # the regions this instance answers for

    def today(self) -> date:
        return today_in_china(self.clock)

    async def scope(
        self,
        principal: Principal,
        region: str | None,
        agency: str | None,
        pairing: str | None,
        project: str | None,
        start: date | None,
        end: date | None,
    ) -> Scope:
        wanted = Scope(region, agency, pairing, project, start, end, self.today())
        async with self.pool.acquire() as conn:
            members = await pairing_members(conn, pairing) if pairing else None
            sides = await pairing_sides(conn, pairing) if pairing else None
            owner = (
                await conn.fetchval(
                    "SELECT agency_id FROM current_projects WHERE project_id = $1", project
                )
                if project
                else None
            )
            named = {a for a in (agency, owner, *(members or ()), principal.agency_id) if a}
            regions = {
                r["agency_id"]: r["region_code"]
                for r in await conn.fetch(
                    "SELECT agency_id, region_code FROM current_agencies"
                    " WHERE agency_id = ANY($1::text[])",
                    sorted(named),
                )
            }
        allowed = access.authorize(principal, wanted, members, owner, regions, sides)
        asked = {a for a in (allowed.agency, owner, *(members or ())) if a}
        self.shard.check(allowed.region, {a: regions.get(a) for a in asked})
        return allowed

    async def summary(self, scope: Scope, breakdown: str | None = None) -> dict[str, Any]:
        async with (
            self.pool.acquire() as conn,
            snapshot(conn),
        ):
            body = await summary(conn, scope)
            body["scope"] = _describe(scope)
            if breakdown == "region":
                body["breakdown"] = await self._by_region(conn, scope)
            elif breakdown:
                body["breakdown"] = await self._by_period(conn, scope, breakdown)
        return body

    async def _by_period(
        self, conn: asyncpg.Connection, scope: Scope, size: str
    ) -> list[dict[str, Any]]:
        if scope.start is None or scope.end is None:
            raise Invalid(
                "a breakdown by period needs from and to",
                [field_error("from", "required", "missing_field")],
            )
        lines = buckets(scope.start, scope.end, size)
        if len(lines) > MAX_LINES:
            raise Invalid(
                f"at most {MAX_LINES} lines in a breakdown",
                [field_error("breakdown", "narrow from/to")],
            )
        out = []
        for label, first, last in lines:
            kpis = await summary(conn, replace(scope, start=first, end=last))
            out.append(
                {
                    "period": label,
                    "from": first.isoformat(),
                    "to": last.isoformat(),
                    "summary": kpis,
                }
            )
        return out

    async def _by_region(self, conn: asyncpg.Connection, scope: Scope) -> list[dict[str, Any]]:
        """A line per region one level down that holds an agency of the scope on some day
        of the period, and a line (under the region's own code) for the agencies at a
        county's own 6 digits: the lines then add up to the report's own line, which
        suppression relies on."""
        prefix = scope.region or ""
        out = []
        for line in await breakdown_regions(conn, prefix, scope):
            own = replace(scope, region=line, region_exact=line == prefix)
            out.append({"region": line, "summary": await summary(conn, own)})
        return out

    async def pairing(
        self, principal: Principal, pairing_id: str, as_of: datetime | None = None
    ) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            members = await pairing_members(conn, pairing_id)
            if not members:
                raise NotFound(f"no pairing {pairing_id!r}")
            regions = {
                r["agency_id"]: r["region_code"]
                for r in await conn.fetch(
                    "SELECT agency_id, region_code FROM current_agencies WHERE agency_id = ANY($1::text[])",
                    sorted(members),
                )
            }
            self.shard.check(None, {a: regions.get(a) for a in members})
            # An agency reads the pairings it is a side of; a province those with an agency
            # in its region; admin all (SPEC 3.6).
            if principal.role == "agency":
                allowed = principal.agency_id in await pairing_sides(conn, pairing_id)
            else:
                allowed = any(principal.covers_region(regions.get(a)) for a in members)
            if not allowed:
                raise Forbidden(
                    f"pairing {pairing_id!r}: only its two sides, its province and admin read it"
                )
            body = await pairing_report(conn, pairing_id, self.today(), Basis(as_of))
        if body is None:
            raise NotFound(f"no pairing {pairing_id!r}")
        return body

    async def unassigned(self, principal: Principal) -> dict[str, Any]:
        """Agency ids with events but no registration in force (SPEC 3.6): their events
        are kept and placed once they register; until then they are listed here."""
        if principal.role != "admin":
            raise Forbidden("only admin lists the agencies that have no registration")
        rows = await self.pool.fetch(
            "SELECT agency_id, type, events, first_seen, last_seen FROM agency_sightings s"
            " WHERE NOT EXISTS (SELECT 1 FROM agency_regions r WHERE r.agency_id = s.agency_id)"
            " ORDER BY agency_id, type"
        )
        found: dict[str, dict[str, Any]] = {}
        for r in rows:
            line = found.setdefault(
                r["agency_id"],
                {"agency_id": r["agency_id"], "events": 0, "events_by_type": {},
                 "first_seen": r["first_seen"], "last_seen": r["last_seen"]},
            )  # fmt: skip
            line["events"] += r["events"]
            line["events_by_type"][r["type"]] = r["events"]
            line["first_seen"] = min(line["first_seen"], r["first_seen"])
            line["last_seen"] = max(line["last_seen"], r["last_seen"])
        agencies = [
            {
                **a,
                "first_seen": a["first_seen"].isoformat(),
                "last_seen": a["last_seen"].isoformat(),
            }
            for a in found.values()
        ]
        return {"count": len(agencies), "agencies": agencies}

    async def publish(self, principal: Principal, region: str, period: str) -> dict[str, Any]:
        """Compute the period's report and put it on REPORTS, waiting for the PubAck."""
        first, last = period_range(period)
        scope = access.authorize(principal, Scope(region=region, start=first, end=last), None, None)
        self.shard.check(region, {})
        body = await self.summary(scope)
        now = self.clock.now()
        digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
        payload = ReportPublished(
            region=region,
            period=period,
            published_by=principal.region or principal.role,
            summary=body,
        )
        event = service_event(
            f"report-{region}-{period}-{digest}", payload, REPORTING_AGENCY, region, now
        )
        assert self.js is not None
        try:
            # The same message again through an election; a caller waits at most this long.
            await publishing.publish(
                self.js,
                report(region, period),
                orjson.dumps(event.model_dump(mode="json")),
                msg_id(REPORTING_AGENCY, event.event_id),
                within_s=PUBLISH_WITHIN_S,
                what="report",
            )
        except Exception as exc:
            raise Unavailable(f"report not published, retry: {exc}") from exc
        return event.model_dump(mode="json")


def _describe(scope: Scope) -> dict[str, Any]:
    _start, end = scope.bounds()
    return {
        "region": scope.region,
        "agency": scope.agency,
        "pairing": scope.pairing,
        "project": scope.project,
        "from": scope.start.isoformat() if scope.start else None,
        "to": end.isoformat(),
        **({"as_of": scope.as_of.isoformat()} if scope.as_of else {}),
    }


async def breakdown_regions(conn: asyncpg.Connection, prefix: str, scope: Scope) -> list[str]:
    """The lines of a breakdown of `prefix` by region: the codes one level down where an
    agency of `scope` was on some day of its period (a moved agency's old region keeps
    its history, placement.py), and `prefix` itself when an agency was at that very code."""
    length = child_length(prefix)
    if length is None:
        return []
    start, end = scope.bounds()
    rows = await conn.fetch(
        "SELECT DISTINCT left(region_code, $2) AS line"
        f" FROM {agency_periods(scope.basis)} p"
        " WHERE region_code LIKE $1 AND valid_from <= $4 AND valid_to >= $3"
        " AND ($5::text[] IS NULL OR agency_id = ANY($5::text[])) ORDER BY line",
        prefix + "%",
        length,
        start,
        end,
        None if (named := await named_agencies(conn, scope)) is None else sorted(named),
    )
    return [str(r["line"]) for r in rows]
