"""Approving a period (SPEC 3.9): approve (publish period-approved on EVENTS), list a
scope's approvals, show one against today's figures, and mark a summary whose scope and
period were approved. Approvals are read from the table reporting's consumer fills from
EVENTS (store.py): the stream is where an approval lives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
import orjson

from services.reporting.approvals import domain, late, store
from services.reporting.explain import EXPLAINABLE, explain
from services.reporting.snapshot import snapshot
from services.reporting.summary import Scope, pairing_sides, summary
from services.reporting.usecases import PUBLISH_WITHIN_S, REPORTING_AGENCY, Reports
from shared import publishing
from shared.clock import CHINA
from shared.errors import Forbidden, NotFound, Unavailable
from shared.events import ApprovalScope, PeriodApproved, service_event
from shared.subjects import EVENTS_STREAM, UNASSIGNED_REGION, event, msg_id
from shared.tokens import Principal

EVENTS_SHOWN = 1000  # the late events listed with an approval (all are counted)
EXPLAINED_ROWS = 100  # per changed KPI; GET /v1/reports/explain pages through the rest


@dataclass
class Approvals:
    reports: Reports

    @property
    def pool(self) -> asyncpg.Pool:
        return self.reports.pool

    async def approve(
        self, principal: Principal, scope: ApprovalScope, start: date, end: date
    ) -> tuple[dict[str, Any], bool]:
        """Compute the scope's figures for [start, end] and publish them as approved,
        waiting for the stream's PubAck (the same Nats-Msg-Id through an election).
        Figures the same approver approved and that nothing changed since are the approval
        in force already: it is answered, and nothing is published (False)."""
        subject_region = await self._authorize_approval(principal, scope)
        # Read before the figures: every event up to this position is in them.
        stream_seq = await self._applied_position()
        wanted = Scope(region=scope.region, pairing=scope.pairing, start=start, end=end)
        async with (
            self.pool.acquire() as conn,
            snapshot(conn),
        ):
            body = await summary(conn, wanted)
            previous = await store.in_force(conn, scope.region, scope.pairing, start, end)
            figures = domain.figures_of(body)
            prints = domain.fingerprint(figures)
            approver = domain.approver_of(principal)
            if (
                previous is not None
                and (previous["fingerprint"], previous["approver"]) == (prints, approver)
                and await late.late_count(conn, previous) == 0
            ):
                return _published(previous), False
        supersedes = previous["approval_id"] if previous else None
        approval_id = domain.approval_id(
            scope.model_dump(exclude_none=True),
            start.isoformat(),
            end.isoformat(),
            prints,
            approver,
            supersedes,
        )
        payload = PeriodApproved(
            approval_id=approval_id,
            scope=scope,
            from_=start,
            to_=end,
            fingerprint=prints,
            figures=figures,
            stream_seq=stream_seq,
            watermark=body["as_of"],
            approver=approver,
            supersedes=supersedes,
        )
        now = self.reports.clock.now()
        canonical = service_event(approval_id, payload, REPORTING_AGENCY, subject_region, now)
        assert self.reports.js is not None
        try:
            await publishing.publish(
                self.reports.js,
                event(subject_region, REPORTING_AGENCY, canonical.type),
                orjson.dumps(canonical.model_dump(mode="json")),
                msg_id(REPORTING_AGENCY, approval_id),
                within_s=PUBLISH_WITHIN_S,
                what="approval",
            )
        except Exception as exc:
            raise Unavailable(f"approval not published, retry: {exc}") from exc
        row = {
            "approval_id": approval_id, "region": scope.region, "pairing": scope.pairing,
            "from_on": start, "to_on": end, "approver": approver, "approved_at": now,
            "stream_seq": stream_seq, "watermark": payload.watermark, "fingerprint": prints,
            "figures": domain.canonical(figures), "supersedes": supersedes, "superseded_by": None,
        }  # fmt: skip
        return _published(row), True  # as the approvals table will have it

    async def _authorize_approval(self, principal: Principal, scope: ApprovalScope) -> str:
        """Refuse who may not approve the scope; the region token its event goes under."""
        if scope.region is not None:
            domain.may_approve(principal, scope.region)
            self.reports.shard.check(scope.region, {})
            return scope.region
        assert scope.pairing is not None
        async with self.pool.acquire() as conn:
            assisting = await conn.fetchval(
                "SELECT assisting_agency_id FROM current_pairings WHERE pairing_id = $1",
                scope.pairing,
            )
            sides = sorted(await pairing_sides(conn, scope.pairing))
            regions = dict(
                await conn.fetch(
                    "SELECT agency_id, region_code FROM current_agencies"
                    " WHERE agency_id = ANY($1::text[])",
                    sides,
                )
            )
        domain.may_approve(principal, None, [regions.get(a) for a in sides])
        if not sides:
            raise NotFound(f"no pairing {scope.pairing!r}")
        self.reports.shard.check(None, {a: regions.get(a) for a in sides})
        return str(regions.get(assisting) or UNASSIGNED_REGION)

    async def _applied_position(self) -> int:
        """The EVENTS sequence up to which reporting's consumer has applied (and acked)
        every event it takes."""
        assert self.reports.js is not None
        try:
            info = await self.reports.js.consumer_info(EVENTS_STREAM, self.reports.shard.durable)
        except Exception as exc:
            raise Unavailable(f"reporting is not consuming EVENTS yet, retry: {exc}") from exc
        return int(info.ack_floor.stream_seq if info.ack_floor else 0)

    async def listing(
        self, principal: Principal, region: str | None, pairing: str | None
    ) -> dict[str, Any]:
        """A region's or a pairing's approvals, newest first, superseded ones marked."""
        await self.reports.scope(principal, region, None, pairing, None, None, None)
        rows = await store.listing(self.pool, region, pairing)
        return {"approvals": [_view(r) for r in rows]}

    async def show(self, principal: Principal, approval_id: str) -> dict[str, Any]:
        """The approved figures, today's, the difference and the events that made it."""
        found = await store.one(self.pool, approval_id)
        if found is None:
            raise NotFound(f"no approval {approval_id!r}")
        await self._may_read(principal, found)
        wanted = Scope(
            region=found["region"], pairing=found["pairing"], start=found["from_on"],
            end=found["to_on"],
        )  # fmt: skip
        async with (
            self.pool.acquire() as conn,
            snapshot(conn),
        ):
            body = await summary(conn, wanted)
            events = await late.late_events(conn, found, EVENTS_SHOWN)
            count = await late.late_count(conn, found)
            approved = orjson.loads(found["figures"])
            today = domain.figures_of(body)
            changes = domain.difference(approved, today)
            explained = await _explained(conn, wanted, found["watermark"], changes)
        return {
            **_view(found),
            "approved": approved,
            "today": today,
            "today_as_of": body["as_of"],
            "difference": changes,
            "late_events": count,
            "events": events,
            "explained": explained,
        }

    async def _may_read(self, principal: Principal, found: dict[str, Any]) -> None:
        try:
            await self.reports.scope(
                principal, found["region"], None, found["pairing"], None, None, None
            )
        except Forbidden as exc:
            raise NotFound(f"no approval {found['approval_id']!r}") from exc  # no probing

    async def mark(self, scope: Scope) -> dict[str, Any] | None:
        """For a summary whose scope and period were approved: the approval in force and
        how many events arrived for them since ("changed since approval")."""
        if scope.start is None or scope.end is None or scope.agency or scope.project:
            return None
        region = None if scope.pairing else scope.region
        if region is None and scope.pairing is None:
            return None
        async with self.pool.acquire() as conn:
            found = await store.in_force(
                conn, region, scope.pairing, scope.start, scope.end, scope.as_of
            )
            if found is None:
                return None
            changed = await late.late_count(conn, found, scope.as_of)
        return {
            "approval_id": found["approval_id"],
            "approved_at": found["approved_at"].astimezone(CHINA).isoformat(),
            "changed_since": changed,
        }


async def _explained(
    conn: asyncpg.Connection, scope: Scope, watermark: datetime | None, changes: dict[str, Any]
) -> list[dict[str, Any]]:
    """For each KPI that changed, the events now counting in it that were recorded after
    the approval (through explain, SPEC 3.7): what made the difference."""
    out = []
    for kpi in changes:
        if kpi not in EXPLAINABLE:
            continue
        page = await explain(conn, scope, kpi, recorded_after=watermark, limit=EXPLAINED_ROWS)
        out.append(
            {"kpi": kpi, "adds": page.adds, "rows": page.rows, "more": page.next_cursor is not None}
        )
    return out


def _published(row: dict[str, Any]) -> dict[str, Any]:
    """An approval in force as POST /v1/approvals answers it (the event's payload)."""
    view = _view(row)
    return {
        **{k: view[k] for k in ("approval_id", "scope", "from", "to", "fingerprint")},
        "figures": orjson.loads(row["figures"]),
        **{k: view[k] for k in ("stream_seq", "watermark", "approver", "supersedes")},
        "approved_at": view["approved_at"],
    }


def _view(row: dict[str, Any]) -> dict[str, Any]:
    """An approval as listed: what was approved, by whom, when, and what replaced it."""
    scope = {"region": row["region"]} if row["region"] else {"pairing": row["pairing"]}
    return {
        "approval_id": row["approval_id"],
        "scope": scope,
        "from": row["from_on"].isoformat(),
        "to": row["to_on"].isoformat(),
        "approver": row["approver"],
        "approved_at": row["approved_at"].astimezone(CHINA).isoformat(),
        "fingerprint": row["fingerprint"],
        "stream_seq": row["stream_seq"],
        "watermark": row["watermark"].isoformat() if row["watermark"] else None,
        "supersedes": row["supersedes"],
        "superseded_by": row["superseded_by"],
        "superseded": row["superseded_by"] is not None,
    }
