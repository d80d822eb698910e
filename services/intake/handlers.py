"""Intake's use cases, shared by the HTTP and NATS front doors: submit events, look one up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.intake import clients, domain, store
from services.intake.metrics import EVENTS
from services.intake.personal import Vault
from shared.tokens import Principal
from shared.validation import decode_json


@dataclass(frozen=True)
class Answer:
    """An HTTP-style status and a JSON-able body: the same for HTTP and NATS callers."""

    status: int
    body: Any
    headers: dict[str, str] | None = None


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"code": code, "message": message, "errors": []}, headers)


@dataclass
class Intake:
    pool: asyncpg.Pool
    vault: Vault
    relay_wakeup: asyncio.Event
    backlog: Callable[[], int] = lambda: 0
    max_backlog: int = 100_000

    async def submit(
        self, body: bytes, principal: Principal, subject_type: str | None = None
    ) -> Answer:
        """Validate, authorize, store and queue for publishing one request's events."""
        if self.backlog() > self.max_backlog:
            # EVENTS is not keeping up (NATS down or slow): refuse rather than let the
            # outbox grow without bound; the frontend retries later, nothing is lost.
            return error(
                503,
                "backlogged",
                f"over {self.max_backlog} events wait for EVENTS; retry later",
                headers={"Retry-After": "5"},
            )
        try:
            request = domain.parse_request(decode_json(body))
            if subject_type is not None:
                domain.require_type(request, subject_type)
            regions = await store.regions_of(self.pool, request.agencies)
            regions = {**domain.registered_regions(request), **regions}
            domain.authorize(principal, request, regions)
        except ValueError as exc:
            return error(400, "malformed", str(exc))
        except domain.RequestError as exc:
            return error(exc.status, exc.code, exc.message)
        accepted = await store.record(self.pool, request, self.vault)
        if accepted:
            self.relay_wakeup.set()
        for sub in request.submissions:
            event_type = sub.event.type if sub.event else "invalid"
            agency = sub.event.agency_id if sub.event else "unknown"
            EVENTS.labels(event_type, agency, sub.status).inc()
        return Answer(domain.response_status(request), domain.response_body(request))

    async def lookup(self, principal: Principal, event_id: str, agency_id: str | None) -> Answer:
        """One event's record, for its own agency (or a province over it, or admin)."""
        agency = agency_id or principal.agency_id
        if agency is None:
            return error(400, "malformed", "name the agency: ?agency=ID")
        regions = await store.regions_of(self.pool, {agency})
        if not principal.may_act_for(agency, regions.get(agency)):
            return error(403, "forbidden", f"events of agency {agency!r} are not yours")
        record = await store.event_record(self.pool, agency, event_id)
        if record is None:
            return error(404, "not_found", f"no event {event_id!r} of agency {agency!r}")
        return Answer(200, {"status": "recorded", **record})

    async def personal_data(self, principal: Principal, client_id: str, reason: str) -> Answer:
        """A client's personal data, for its own agency only, with a reason that is audited."""
        if principal.role != "agency" or principal.agency_id is None:
            return error(403, "forbidden", "only the client's own agency reads personal data")
        try:
            found = await clients.read(
                self.pool, self.vault, principal, principal.agency_id, client_id, reason
            )
        except clients.Erased:
            return error(410, "erased", f"client {client_id!r} was erased")
        if found is None:
            return error(
                404, "not_found", f"no client {client_id!r} of agency {principal.agency_id!r}"
            )
        return Answer(200, found)

    async def erase(self, principal: Principal, client_id: str, reason: str) -> Answer:
        """Destroy a client's key material (PIPL erasure); the aggregates stay."""
        if principal.role != "agency" or principal.agency_id is None:
            return error(403, "forbidden", "only the client's own agency erases a client")
        if not await clients.erase(self.pool, principal, principal.agency_id, client_id, reason):
            return error(
                404, "not_found", f"no client {client_id!r} of agency {principal.agency_id!r}"
            )
        return Answer(200, {"client_id": client_id, "status": "erased"})
