"""Staff dispatches, a run at a time (issue 19): kept in one statement and their business
keys (pairing, dispatch_id) settled in one more; the newest version of a dispatch counts
(SPEC 3.6), so a dispatch re-sent under a new event id counts its days once."""

from __future__ import annotations

import asyncpg

from services.scheduling import entities
from shared.events import Canonical, StaffDispatched

_INSERT = """
INSERT INTO staff_dispatches (agency_id, event_id, dispatch_id, pairing_id, worker_id,
                              from_date, to_date, occurred_at, recorded_at, superseded)
SELECT *, true FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                           $6::date[], $7::date[], $8::timestamptz[], $9::timestamptz[])
ON CONFLICT DO NOTHING
"""

_SETTLE = """
WITH ranked AS (
    SELECT agency_id AS ea, event_id AS ee, row_number() OVER (
               PARTITION BY pairing_id, dispatch_id
               ORDER BY occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC) = 1
           AS wins
    FROM staff_dispatches JOIN unnest($1::text[], $2::text[]) AS k(pairing_id, dispatch_id)
         USING (pairing_id, dispatch_id)
)
UPDATE staff_dispatches t SET superseded = NOT r.wins FROM ranked r
WHERE t.agency_id = r.ea AND t.event_id = r.ee AND t.superseded = r.wins
"""


async def record(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    """Keep the dispatches (not those whose retraction came first), then settle them."""
    if not events:
        return
    early = await entities.retracted_among(conn, [(e.agency_id, e.event_id) for e in events])
    rows = [
        (
            e.agency_id, e.event_id, p.dispatch_id, p.pairing_id, p.worker_id, p.from_date,
            p.to_date, e.occurred_at, e.recorded_at,
        )
        for e in events
        if (e.agency_id, e.event_id) not in early and isinstance(p := e.payload, StaffDispatched)
    ]  # fmt: skip
    if rows:
        await conn.execute(_INSERT, *(list(column) for column in zip(*rows, strict=True)))
        await settle(conn, sorted({(str(r[3]), str(r[2])) for r in rows}))


async def settle(conn: asyncpg.Connection, keys: list[tuple[str, str]]) -> None:
    """Mark, per (pairing, dispatch_id), the newest version counting and the others not."""
    if keys:
        await conn.execute(_SETTLE, [k[0] for k in keys], [k[1] for k in keys])
