"""Intake's use cases, shared by the HTTP and NATS front doors: submit events, look one up."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.intake import clients, decision, domain, store
from services.intake.metrics import EVENTS, REJECTIONS
from services.intake.personal import Vault
from shared import faults
from shared.clock import Clock, SystemClock
from shared.errors import Forbidden, Gone, Malformed, NotFound, Unavailable
from shared.tokens import Principal
from shared.validation import decode_json


@dataclass
class Intake:
    pool: asyncpg.Pool
    vault: Vault
    relay_wakeup: asyncio.Event
    backlog: Callable[[], int] = lambda: 0
    max_backlog: int = 100_000
    # recorded_at comes from this (the system clock: the log's own time, which tests'
    # file clock for "today" does not move).
    clock: Clock = field(default_factory=SystemClock)

    async def submit(
        self, body: bytes, principal: Principal, subject_type: str | None = None
    ) -> domain.Request:
        """Validate, authorize, store and queue for publishing one request's events; each
        event's outcome is settled in the request returned."""
        if self.backlog() > self.max_backlog:
            # EVENTS is not keeping up (NATS down or slow): refuse rather than let the
            # outbox grow without bound; the frontend retries later, nothing is lost.
            raise Unavailable(
                f"over {self.max_backlog} events wait for EVENTS; retry later",
                code="backlogged",
                headers={"Retry-After": "5"},
            )
        try:
            decoded = decode_json(body)
        except ValueError as exc:
            raise Malformed(str(exc)) from exc
        request = domain.parse_request(decoded)
        if subject_type is not None:
            domain.require_type(request, subject_type)
        regions = await store.regions_of(self.pool, request.agencies)
        regions = {**domain.registered_regions(request), **regions}
        domain.authorize(principal, request, regions)
        decision.prepare(request, self.vault.content_key())
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock(conn, request.valid)
            facts = await store.load(conn, request.valid)
            await store.hold_recording_order(conn)
            decided = decision.decide(principal, request, facts, self.clock.now())
            raced = await store.record(conn, decided, self.vault)
        decision.settle_raced(decided, raced)
        faults.point("intake.after_commit")  # committed, not yet answered nor published
        if len(decided) > len(raced):
            self.relay_wakeup.set()
        _count(request)
        return request

    async def lookup(
        self, principal: Principal, event_id: str, agency_id: str | None
    ) -> dict[str, Any]:
        """One event's record, for its own agency (or a province over it, or admin)."""
        agency = agency_id or principal.agency_id
        if agency is None:
            raise Malformed("name the agency: ?agency=ID")
        regions = await store.regions_of(self.pool, {agency})
        if not principal.may_act_for(agency, regions.get(agency)):
            raise Forbidden(f"events of agency {agency!r} are not yours")
        record = await store.event_record(self.pool, agency, event_id)
        if record is None:
            raise NotFound(f"no event {event_id!r} of agency {agency!r}")
        return {"status": "recorded", **record}

    async def personal_data(
        self, principal: Principal, client_id: str, reason: str
    ) -> dict[str, Any]:
        """A client's personal data, for its own agency only, with a reason that is audited."""
        if principal.role != "agency" or principal.agency_id is None:
            raise Forbidden("only the client's own agency reads personal data")
        try:
            found = await clients.read(
                self.pool, self.vault, principal, principal.agency_id, client_id, reason
            )
        except clients.Erased as exc:
            raise Gone(f"client {client_id!r} was erased") from exc
        if found is None:
            raise NotFound(f"no client {client_id!r} of agency {principal.agency_id!r}")
        return found

    async def erase(self, principal: Principal, client_id: str, reason: str) -> dict[str, Any]:
        """Destroy a client's key material (PIPL erasure); the aggregates stay."""
        if principal.role != "agency" or principal.agency_id is None:
            raise Forbidden("only the client's own agency erases a client")
        if not await clients.erase(self.pool, principal, principal.agency_id, client_id, reason):
            raise NotFound(f"no client {client_id!r} of agency {principal.agency_id!r}")
        return {"client_id": client_id, "status": "erased"}


def _count(request: domain.Request) -> None:
    """The request's outcomes in the metrics: one increment per label set, not per event."""
    outcomes: Counter[tuple[str, str, str]] = Counter()
    rejections: Counter[str] = Counter()
    for sub in request.submissions:
        event_type = sub.event.type if sub.event else "invalid"
        agency = sub.event.agency_id if sub.event else "unknown"
        outcomes[(event_type, agency, str(sub.status))] += 1
        rejections.update({e["code"] for e in sub.errors})
    for labels, n in outcomes.items():
        EVENTS.labels(*labels).inc(n)
    for code, n in rejections.items():
        REJECTIONS.labels(code).inc(n)
