"""Intake's database: the event log, the outbox and personal data, one transaction a request.

Every statement works on the whole batch (arrays unnested server-side): a request of a
thousand events costs a handful of round trips, not thousands.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.intake import clients, references
from services.intake.domain import (
    Publication,
    Request,
    Submission,
    fingerprint,
    publication,
    settle_against_log,
    settle_repeats_within,
)
from services.intake.personal import Vault
from shared import faults
from shared.events import AgencyRegistered


async def regions_of(conn: asyncpg.Connection | asyncpg.Pool, agencies: set[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT agency_id, region_code FROM agencies WHERE agency_id = ANY($1::text[])",
        list(agencies),
    )
    return {r["agency_id"]: r["region_code"] for r in rows}


async def record(pool: asyncpg.Pool, request: Request, vault: Vault) -> list[Submission]:
    """Store the request's valid events; settle each one's status. Returns those accepted."""
    key = vault.content_key()
    for sub in request.valid:
        assert sub.event is not None
        sub.fingerprint = fingerprint(sub.event, key)
    settle_repeats_within(request)
    async with pool.acquire() as conn, conn.transaction():
        await _settle_known(conn, request.valid)
        claims = await _check_references(conn, request.valid)
        fresh = request.valid
        if not fresh:
            return []
        await _register_agencies(conn, fresh)
        regions = await regions_of(conn, {s.event.agency_id for s in fresh if s.event})
        # A microsecond apart, in request order: a report's as_of (the newest recorded_at
        # reflected) then tells exactly how far into a request it has got.
        now = datetime.now(UTC)
        pubs = [
            publication(s.event, regions.get(s.event.agency_id), now + timedelta(microseconds=i))
            for i, s in enumerate(fresh)
            if s.event
        ]
        seqs = await _append(conn, fresh, pubs)
        raced = [s for s in fresh if s.key not in seqs]
        await _settle_known(conn, raced)  # a concurrent request stored them first
        accepted = [(s, p) for s, p in zip(fresh, pubs, strict=True) if s.key in seqs]
        for sub, _ in accepted:
            sub.status = "accepted"
        await _fill_outbox(conn, [(seqs[s.key], p) for s, p in accepted])
        await _keep_owners(conn, claims)
        await clients.keep(conn, vault, [(seqs[s.key], s) for s, _ in accepted])
    faults.point("intake.after_commit")  # committed, not yet answered nor published
    return [s for s, _ in accepted]


async def _check_references(conn: asyncpg.Connection, subs: list[Submission]) -> references.Owners:
    """Reject what the payloads may not claim; returns the ids newly claimed. The ids are
    locked first, so two requests cannot both claim one."""
    ids = references.claimed_ids(subs)
    for kind, ident in ids:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{kind}:{ident}"
        )
    rows = await conn.fetch(
        "SELECT o.* FROM owned_ids o JOIN unnest($1::text[], $2::text[]) AS k(kind, id)"
        " USING (kind, id)",
        [k for k, _ in ids],
        [i for _, i in ids],
    )
    owners = {
        (r["kind"], r["id"]): references.Owner(r["agency_id"], r["assisting"], r["assisted"])
        for r in rows
    }
    return references.check(subs, owners)


async def _keep_owners(conn: asyncpg.Connection, claims: references.Owners) -> None:
    if claims:
        await conn.executemany(
            "INSERT INTO owned_ids (kind, id, agency_id, assisting, assisted)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [(k, i, o.agency_id, o.assisting, o.assisted) for (k, i), o in claims.items()],
        )


async def _settle_known(conn: asyncpg.Connection, subs: list[Submission]) -> None:
    if not subs:
        return
    rows = await conn.fetch(
        "SELECT l.agency_id, l.event_id, l.content_hash FROM event_log l"
        " JOIN unnest($1::text[], $2::text[]) AS k(agency_id, event_id)"
        " USING (agency_id, event_id)",
        [s.key[0] for s in subs],
        [s.key[1] for s in subs],
    )
    known = {(r["agency_id"], r["event_id"]): r["content_hash"] for r in rows}
    for sub in subs:
        if sub.key in known:
            settle_against_log(sub, known[sub.key])


async def _register_agencies(conn: asyncpg.Connection, subs: list[Submission]) -> None:
    """An agency's region comes from its registration. The first registration wins (an
    assisting agency may register the agency it incubates); later ones change it only
    when sent by (or for) that agency itself."""
    for sub in subs:
        assert sub.event is not None
        payload = sub.event.payload
        if not isinstance(payload, AgencyRegistered):
            continue
        own = payload.agency_id == sub.event.agency_id
        await conn.execute(
            "INSERT INTO agencies (agency_id, region_code, registered_by) VALUES ($1, $2, $3)"
            " ON CONFLICT (agency_id) DO UPDATE SET region_code = EXCLUDED.region_code,"
            " registered_by = EXCLUDED.registered_by, updated_at = now() WHERE $4",
            payload.agency_id,
            payload.region_code,
            sub.event.event_id,
            own,
        )


async def _append(
    conn: asyncpg.Connection, subs: list[Submission], pubs: list[Publication]
) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        "INSERT INTO event_log (agency_id, event_id, type, occurred_at, recorded_at,"
        " region_code, content_hash, canonical)"
        " SELECT a, e, t, o, w, r, h, c::jsonb"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],"
        "             $6::text[], $7::bytea[], $8::text[]) AS x(a, e, t, o, w, r, h, c)"
        " ON CONFLICT (agency_id, event_id) DO NOTHING"
        " RETURNING seq, agency_id, event_id",
        [s.key[0] for s in subs],
        [s.key[1] for s in subs],
        [p.canonical.type for p in pubs],
        [p.canonical.occurred_at for p in pubs],
        [p.canonical.recorded_at for p in pubs],
        [p.canonical.region_code for p in pubs],
        [s.fingerprint for s in subs],
        [p.body.decode() for p in pubs],
    )
    return {(r["agency_id"], r["event_id"]): r["seq"] for r in rows}


async def _fill_outbox(conn: asyncpg.Connection, items: list[tuple[int, Publication]]) -> None:
    if items:
        await conn.executemany(
            "INSERT INTO outbox (seq, subject, msg_id, body) VALUES ($1, $2, $3, $4)",
            [(seq, p.subject, p.msg_id, p.body) for seq, p in items],
        )


async def event_record(pool: asyncpg.Pool, agency_id: str, event_id: str) -> dict[str, Any] | None:
    """What the log knows of one event, and whether it has reached EVENTS yet."""
    row = await pool.fetchrow(
        "SELECT l.event_id, l.agency_id, l.type, l.occurred_at, l.recorded_at, l.region_code,"
        " o.seq IS NULL AS published"
        " FROM event_log l LEFT JOIN outbox o USING (seq)"
        " WHERE l.agency_id = $1 AND l.event_id = $2",
        agency_id,
        event_id,
    )
    return dict(row) if row else None
