"""Logged visits, a run of them at a time: kept in one statement, their business keys
settled in one more, and only the clients that have open slots looked at again (issue 19:
one statement per batch, not per event). Most visits are of clients without a care plan,
so most runs cost three statements whatever their length."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.scheduling import entities, lifecycle
from services.scheduling.domain.closing import OPEN
from shared.events import Canonical, VisitLogged
from shared.identity import client_agency

_INSERT = """
INSERT INTO visits_logged (agency_id, event_id, visit_id, client_agency, client_id, worker_id,
                           service, started_at, duration_min, plan_id, occurred_at,
                           recorded_at, superseded)
SELECT *, true FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                           $6::text[], $7::text[], $8::timestamptz[], $9::int[], $10::text[],
                           $11::timestamptz[], $12::timestamptz[])
ON CONFLICT DO NOTHING
"""

# Of each visit's versions (agency, visit_id), the newest counts (SPEC 3.6).
_SETTLE = """
WITH ranked AS (
    SELECT agency_id AS ea, event_id AS ee, row_number() OVER (
               PARTITION BY agency_id, visit_id
               ORDER BY occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC) = 1
           AS wins
    FROM visits_logged JOIN unnest($1::text[], $2::text[]) AS k(agency_id, visit_id)
         USING (agency_id, visit_id)
)
UPDATE visits_logged t SET superseded = NOT r.wins FROM ranked r
WHERE t.agency_id = r.ea AND t.event_id = r.ee AND t.superseded = r.wins
RETURNING t.event_id, t.agency_id, t.client_agency, t.client_id, t.service, r.wins
"""

_WITH_OPEN_SLOTS = """
SELECT DISTINCT agency_id, client_id, service FROM slots
JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(agency_id, client_id, service)
     USING (agency_id, client_id, service)
WHERE status = ANY($4::text[])
ORDER BY agency_id, client_id, service
"""


async def record(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    """Keep the visits (not those whose retraction came first), then settle them."""
    if not events:
        return
    early = await entities.retracted_among(conn, [(e.agency_id, e.event_id) for e in events])
    kept = [e for e in events if (e.agency_id, e.event_id) not in early]
    rows = [_row(e, e.payload) for e in kept if isinstance(e.payload, VisitLogged)]
    if not rows:
        return
    await conn.execute(_INSERT, *(list(column) for column in zip(*rows, strict=True)))
    keys = sorted({(e.agency_id, e.payload.visit_id) for e in kept})  # type: ignore[attr-defined]
    await settle(conn, keys, kept[-1].recorded_at)


def _row(e: Canonical, p: VisitLogged) -> tuple[object, ...]:
    return (
        e.agency_id, e.event_id, p.visit_id, client_agency(e.agency_id, p), p.client_id,
        p.worker_id, p.service, p.started_at, p.duration_min, p.plan_id, e.occurred_at,
        e.recorded_at,
    )  # fmt: skip


async def settle(conn: asyncpg.Connection, keys: list[tuple[str, str]], at: datetime) -> None:
    """Settle the visits' keys: a version that stops counting gives back the slot it closed,
    and the one that counts may close one (so a visit re-sent under a new event id closes
    one slot, not two)."""
    if not keys:
        return
    changed = await conn.fetch(_SETTLE, [k[0] for k in keys], [k[1] for k in keys])
    for row in changed:
        if not row["wins"]:
            await lifecycle.reopen_slots_of_visit(conn, row["agency_id"], row["event_id"], at)
    clients = sorted({(r["client_agency"], r["client_id"], r["service"]) for r in changed})
    if not clients:
        return
    with_open = await conn.fetch(
        _WITH_OPEN_SLOTS, *(list(column) for column in zip(*clients, strict=True)), list(OPEN)
    )
    for r in with_open:
        await lifecycle.close_by_logged_visits(
            conn, r["agency_id"], r["client_id"], r["service"], at
        )
