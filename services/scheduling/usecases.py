"""Scheduling's use cases: make a care plan's slots, sweep (overdue, rolling horizon), and
the agency-scoped reads. HTTP-free: failures are refusals from shared.errors."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import asyncpg

from services.scheduling import lifecycle, plans, store, views
from services.scheduling.catchup import CatchUp
from services.scheduling.domain.closing import language_need
from services.scheduling.domain.pace import Dispatch, pairing_pace
from services.scheduling.metrics import CONFLICTS, SLOTS, SLOTS_SCHEDULED, VISITS_OVERDUE
from services.scheduling.requests import CarePlanIn
from shared.clock import Clock, today_in_china
from shared.errors import Conflict, Forbidden, Malformed, NotFound, invalid
from shared.tokens import Principal


@dataclass
class Scheduling:
    pool: asyncpg.Pool
    clock: Clock
    relay_wakeup: asyncio.Event
    horizon_days: int = 56
    daily_cap: int = 4
    overdue_grace: timedelta = timedelta(hours=2)
    catch_up: CatchUp | None = None  # None: the consumer's position is not consulted

    def horizon(self) -> date:
        return today_in_china(self.clock) + timedelta(days=self.horizon_days)

    async def scope(
        self, principal: Principal, agency: str | None, pairing: str | None = None
    ) -> views.Scope:
        """What the principal may read: the named agency if theirs, else all of theirs; with
        a pairing, its scope (narrowed by `agency` if named)."""
        if pairing is not None:
            return await self._pairing_scope(principal, agency, pairing)
        if agency is not None:
            if not principal.may_act_for(agency, await store.region_of(self.pool, agency)):
                raise Forbidden(f"agency {agency!r} is not yours")
            return views.Scope(agency_id=agency)
        if principal.role == "agency":
            return views.Scope(agency_id=principal.agency_id)
        if principal.role == "province":
            return views.Scope(region_prefix=principal.region)
        return views.Scope()

    async def _pairing_scope(
        self, principal: Principal, agency: str | None, pairing_id: str
    ) -> views.Scope:
        """SPEC 3.6: a side of the pairing, a province holding either side, or admin reads
        the pairing scope (as reporting's access rules); a province only inside its prefix."""
        pairing = await views.pairing(self.pool, pairing_id)
        sides = (
            {pairing["assisting_agency_id"], pairing["assisted_agency_id"]} if pairing else set()
        )
        refused = Forbidden(
            f"pairing {pairing_id!r}: only its two sides, its province and admin read it"
        )
        if principal.role == "admin":
            return views.Scope(agency_id=agency, pairing_id=pairing_id)
        if principal.role == "province":
            if not any([await self._covers(principal, a) for a in sorted(sides)]):
                raise refused
            return views.Scope(agency, principal.region, pairing_id)
        if principal.agency_id not in sides:
            raise refused
        return views.Scope(agency_id=agency, pairing_id=pairing_id)

    async def create_plan(self, principal: Principal, body: CarePlanIn) -> tuple[int, Any]:
        """Store the plan and its slots up to the horizon; 201, or 200 for a repeat."""
        agency = body.agency_id or principal.agency_id
        if agency is None:
            raise invalid("agency_id", "name the client's agency", "missing_field")
        await self.scope(principal, agency)
        client = await views.client(self.pool, agency, body.client_id)
        if client is None or client["retracted"]:
            raise invalid("client_id", "no such client registered (yet)", "unknown_client")
        if body.preferred_worker_id is not None:
            worker = await views.worker(self.pool, agency, body.preferred_worker_id)
            if worker is None or worker["retracted"]:
                raise invalid("preferred_worker_id", "not a worker of the agency", "unknown_worker")
        plan = plans.Plan(
            plan_id=body.plan_id or f"plan-{uuid.uuid4().hex[:20]}",
            agency_id=agency,
            client_id=body.client_id,
            service=body.service,
            recurrence=body.recurrence.domain(),
            window=body.window.domain(),
            preferred_worker_id=body.preferred_worker_id,
            required_language=body.required_language or language_need(client["ethnicity"]),
        )
        status = await self._store_plan(plan, body.fingerprint())
        return status, await self.plan_answer(plan)

    async def _store_plan(self, plan: plans.Plan, fingerprint: bytes) -> int:
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            if not await plans.insert(conn, plan, fingerprint):
                existing = await plans.load(conn, plan.plan_id)
                if existing is None or existing[1] != fingerprint:
                    raise Conflict(f"plan {plan.plan_id!r} exists, otherwise")
                return 200
            new = await plans.schedule(conn, plan.plan_id, self.horizon(), now, self.daily_cap)
        self._count(new)
        return 201

    def _count(self, new: list[store.NewSlot]) -> None:
        for slot in new:
            SLOTS_SCHEDULED.labels(str(slot.assignment.worker_id is not None).lower()).inc()
            if slot.assignment.conflict:
                CONFLICTS.labels(slot.assignment.conflict).inc()
        if new:
            self.relay_wakeup.set()

    async def plan_answer(self, plan: plans.Plan) -> dict[str, Any]:
        slots = await views.slots(self.pool, views.Scope(plan.agency_id), plan_id=plan.plan_id)
        return {
            "plan_id": plan.plan_id,
            "agency_id": plan.agency_id,
            "client_id": plan.client_id,
            "service": plan.service,
            "required_language": plan.required_language,
            "preferred_worker_id": plan.preferred_worker_id,
            "scheduled_through": self.horizon().isoformat(),
            "slots": slots,
            "conflicts": [
                {
                    "slot_id": s["slot_id"],
                    "window_start": s["window_start"],
                    "reason": s["conflict"],
                }
                for s in slots
                if s["status"] == "unassigned"
            ],
        }

    async def visits(
        self, principal: Principal, agency: str | None, pairing: str | None = None,
        **filters: Any,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Slots in the caller's scope; filters as views.slots takes them."""
        scope = await self.scope(principal, agency, pairing)
        return await views.slots(self.pool, scope, **filters)

    async def sweep(self) -> None:
        """Turn slots overdue (once each) whose window ended a grace period before a moment
        the consumer has caught up with; extend plans to the horizon; refresh gauges."""
        now = self.clock.now()
        caught_up = await self.catch_up.caught_up_at(now) if self.catch_up else now
        while caught_up is not None:
            turned = await lifecycle.mark_overdue(self.pool, caught_up - self.overdue_grace, now)
            VISITS_OVERDUE.inc(turned)
            if turned:
                self.relay_wakeup.set()
            if turned < 500:
                break
        until = self.horizon()
        for plan_id in await plans.due_for_extension(self.pool, until):
            async with self.pool.acquire() as conn, conn.transaction():
                new = await plans.schedule(conn, plan_id, until, now, self.daily_cap)
            self._count(new)
        for status, count in (await views.status_counts(self.pool)).items():
            SLOTS.labels(status).set(count)

    async def worker_schedule(
        self, principal: Principal, worker_id: str, agency: str | None, since: date | None,
        until: date | None, pairing: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The worker's slots in the caller's scope; with a pairing, only the pairing scope's
        slots, of a worker of a side or of an agency the pairing incubated (SPEC 3.6)."""
        scope = await self.scope(principal, agency, pairing)
        candidates = await views.worker_agencies(self.pool, worker_id)
        if pairing is not None:  # never a worker of the sides' other partners
            related = await views.pairing_agencies(self.pool, pairing)
            mine = [a for a in candidates if a in related and agency in (None, a)]
        elif scope.agency_id is not None:
            mine = [scope.agency_id]
        else:
            mine = [a for a in candidates if await self._covers(principal, a)]
        if len(mine) > 1:
            raise Malformed("the worker id is in several agencies: ?agency=")
        scope = replace(scope, agency_id=mine[0] if mine else "")
        worker = await views.worker(self.pool, scope.agency_id or "", worker_id)
        if worker is None:
            raise NotFound(f"no worker {worker_id!r} here")
        since = since or today_in_china(self.clock)
        until = until or since + timedelta(days=27)
        slots = await views.slots(
            self.pool, scope, worker_id=worker_id, day_from=since, day_to=until
        )
        return {**worker, "from": since.isoformat(), "to": until.isoformat(), "slots": slots}

    async def _covers(self, principal: Principal, agency: str) -> bool:
        return principal.may_act_for(agency, await store.region_of(self.pool, agency))

    async def dispatch_pace(
        self, principal: Principal, pairing_id: str, as_of: date | None
    ) -> dict[str, Any]:
        pairing = await views.pairing(self.pool, pairing_id)
        if pairing is None:
            raise NotFound(f"no pairing {pairing_id!r} (yet)")
        sides = (pairing["assisting_agency_id"], pairing["assisted_agency_id"])
        if not any([await self._covers(principal, a) for a in sides]):
            raise Forbidden(f"pairing {pairing_id!r} is not yours")
        as_of = as_of or today_in_china(self.clock)
        dispatches = [
            Dispatch(f, t, w) for f, t, w in await views.dispatches(self.pool, pairing_id)
        ]
        years = pairing_pace(
            pairing["starts_on"], pairing["ends_on"], pairing["staff_days_per_year"],
            dispatches, as_of,
        )  # fmt: skip
        year_dicts = [
            {**y.__dict__, "starts_on": y.starts_on.isoformat(), "ends_on": y.ends_on.isoformat()}
            for y in years
        ]
        current = year_dicts[-1] if year_dicts else None
        return {
            "pairing_id": pairing_id,
            "assisting_agency_id": sides[0],
            "assisted_agency_id": sides[1],
            "staff_days_per_year": pairing["staff_days_per_year"],
            "as_of": as_of.isoformat(),
            "current": current,
            "will_miss_target": bool(current and current["will_miss_target"]),
            "years": year_dicts,
        }
