"""Intake's database: the event log, the outbox and personal data. SQL only: the handler
runs each request in one transaction as lock and load (here), decide (decision.py), record
(here); no rule is applied in this module.

Every statement works on the whole batch (arrays unnested server-side): a request of a
thousand events costs a handful of round trips, not thousands.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.intake import clients
from services.intake.decision import Decided, Facts
from services.intake.domain import InForce, Publication, Submission
from services.intake.known import Known, Pairing, Target
from services.intake.personal import Vault
from shared import regions
from shared.events import (
    AgencyRegistered,
    EventRetracted,
    PairingEstablished,
    ProjectStarted,
    canonical_events,
)


async def regions_of(conn: asyncpg.Connection | asyncpg.Pool, agencies: set[str]) -> dict[str, str]:
    """The region in force of each agency that has one (shared/regions.py)."""
    rows = await conn.fetch(
        "SELECT agency_id, region_code FROM agency_regions WHERE agency_id = ANY($1::text[])",
        list(agencies),
    )
    return {r["agency_id"]: r["region_code"] for r in rows}


async def lock(conn: asyncpg.Connection, subs: list[Submission]) -> None:
    """Take the request's locks (below) first, before anything is loaded."""
    await _lock(conn, subs)


async def hold_recording_order(conn: asyncpg.Connection) -> None:
    """Take the one lock under which requests take their recording time and commit.

    Reporting's `as_of` is the newest `recorded_at` it applied; that is only honest if an
    event recorded earlier can never reach EVENTS after one recorded later. Taken just
    before the clock is read and held to commit, this lock makes recording time, log seq
    (the outbox's order) and commit order the same order. Only the short write at the end
    of a request waits on it: validation, locks per id and loading come before."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('intake:recording', 0))")


async def load(conn: asyncpg.Connection, subs: list[Submission]) -> Facts:
    """What the rules need to decide these events (services/intake/decision.py)."""
    return Facts(
        fingerprints=await _fingerprints(conn, [s.key for s in subs]),
        known=await load_known(conn, subs),
        in_force=await _in_force(conn, subs),
        registrations=await _registrations(conn, {s.key[0] for s in subs}),
    )


async def record(
    conn: asyncpg.Connection, decided: Decided, vault: Vault
) -> dict[tuple[str, str], bytes]:
    """Append the accepted events to the log and the outbox, with what they establish
    (owners, registrations, business keys, personal data). Returns the fingerprints of
    those a concurrent request stored first under the same ids, which are not recorded."""
    if not decided:
        return {}
    seqs = await _append(conn, [s for s, _ in decided], [p for _, p in decided])
    accepted = [(s, p) for s, p in decided if s.key in seqs]
    raced = await _fingerprints(conn, [s.key for s, _ in decided if s.key not in seqs])
    await _fill_outbox(conn, [(seqs[s.key], p) for s, p in accepted])
    await _keep_owners(conn, [s for s, _ in accepted])
    await _keep_registrations(conn, accepted)
    await _keep_business_keys(conn, accepted)
    await clients.keep(conn, vault, [(seqs[s.key], s) for s, _ in accepted])
    return raced


async def _lock(conn: asyncpg.Connection, subs: list[Submission]) -> None:
    """Two requests cannot both claim one pairing or project id, nor both register one
    agency: lock them (sorted, one statement) before deciding. Business keys are not
    locked (a request may hold a thousand): two racing copies of one new fact may both
    be accepted, and every consumer still counts one fact per key."""
    keys = {f"{k}:{i}" for k, i in authority_ids(subs)}
    keys |= {f"agency:{a}" for a in _registered(subs)}
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) k",
            sorted(keys),
        )


def _registered(subs: list[Submission]) -> set[str]:
    return {
        s.event.payload.agency_id
        for s in subs
        if s.event is not None and isinstance(s.event.payload, AgencyRegistered)
    }


def _field(payload: object, name: str) -> Any:
    """A payload's field, or None where its type has no such field. Asked of the model's
    field names: a missing attribute of a pydantic model costs an exception, and a request
    of a thousand events asks a dozen names of each."""
    model = type(payload)
    names = _FIELD_NAMES.get(model)
    if names is None:
        names = _FIELD_NAMES[model] = frozenset(getattr(model, "__pydantic_fields__", ()))
    return getattr(payload, name) if name in names else None


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def authority_ids(subs: list[Submission]) -> list[tuple[str, str]]:
    """The pairing and project ids a request mentions."""
    return _mentioned_ids([sub.event.payload if sub.event else None for sub in subs])


def _mentioned_ids(payloads: list[object]) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for payload in payloads:
        for name in ("pairing_id", "incubated_by_pairing_id"):
            if value := _field(payload, name):
                found.add(("pairing", value))
        if value := _field(payload, "project_id"):
            found.add(("project", value))
    return sorted(found)


async def load_known(conn: asyncpg.Connection, subs: list[Submission]) -> Known:
    """What the authorisation of these events needs to know (known.py)."""
    known = Known()
    # A retraction is judged as its target would be (authority.py), so what the targets
    # mention (a pairing's sides, a project) must be known as well as the request's own.
    await _load_targets(conn, subs, known)
    payloads: list[object] = [sub.event.payload for sub in subs if sub.event is not None]
    payloads += [target.payload for target in known.targets.values()]
    ids = _mentioned_ids(payloads)
    projects = [i for k, i in ids if k == "project"]
    for r in await conn.fetch(
        "SELECT id, agency_id FROM owned_ids WHERE kind = 'project' AND id = ANY($1::text[])",
        projects,
    ):
        known.projects[r["id"]] = r["agency_id"]
    agencies: set[str] = set(known.projects.values())
    agencies |= {sub.event.agency_id for sub in subs if sub.event is not None}
    for payload in payloads:
        for name in ("agency_id", "client_agency_id", "assisting_agency_id", "assisted_agency_id"):
            if value := _field(payload, name):
                agencies.add(value)
    for r in await conn.fetch(
        "SELECT agency_id, region_code, incubated_by FROM agency_regions"
        " WHERE agency_id = ANY($1::text[])",
        sorted(agencies),
    ):
        known.regions[r["agency_id"]] = r["region_code"]
        known.incubated_by[r["agency_id"]] = r["incubated_by"]
    pairings = {i for k, i in ids if k == "pairing"} | {p for p in known.incubated_by.values() if p}
    for r in await conn.fetch(
        "SELECT id, assisting, assisted FROM owned_ids WHERE kind = 'pairing'"
        " AND (id = ANY($1::text[]) OR assisting = ANY($2::text[]) OR assisted = ANY($2::text[]))",
        sorted(pairings),
        sorted(agencies),
    ):
        known.pairings[r["id"]] = Pairing(r["assisting"], r["assisted"])
    return known


async def _load_targets(conn: asyncpg.Connection, subs: list[Submission], known: Known) -> None:
    targets = [
        (s.event.agency_id, s.event.payload.target_event_id)
        for s in subs
        if s.event is not None and isinstance(s.event.payload, EventRetracted)
    ]
    if not targets:
        return
    rows = await conn.fetch(
        "SELECT l.agency_id, l.event_id, l.canonical FROM event_log l"
        " JOIN unnest($1::text[], $2::text[]) AS k(a, e) ON l.agency_id = k.a AND l.event_id = k.e",
        [t[0] for t in targets],
        [t[1] for t in targets],
    )
    for r in rows:
        event = canonical_events.validate_json(r["canonical"])
        known.targets[(r["agency_id"], r["event_id"])] = Target(event.type, event.payload)


async def _in_force(
    conn: asyncpg.Connection, subs: list[Submission]
) -> dict[tuple[str, str], InForce]:
    """The event in force for each business key the request names."""
    keys = sorted({bk for s in subs if (bk := s.business_key)})
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT DISTINCT ON (b.kind, b.key) b.kind, b.key, b.event_agency, b.event_id, b.content"
        " FROM business_keys b JOIN unnest($1::text[], $2::text[]) AS k(kind, key)"
        " USING (kind, key) WHERE NOT b.retracted"
        " ORDER BY b.kind, b.key, b.occurred_at DESC, b.recorded_at DESC",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {
        (r["kind"], r["key"]): InForce(r["event_agency"], r["event_id"], r["content"]) for r in rows
    }


async def _registrations(
    conn: asyncpg.Connection, agencies: set[str]
) -> dict[str, regions.Registration]:
    """The registration in force of each of these agencies (shared/regions.py)."""
    rows = await conn.fetch(
        "SELECT g.* FROM agency_regions a JOIN agency_registrations g"
        " USING (event_agency, event_id) WHERE a.agency_id = ANY($1::text[])",
        sorted(agencies),
    )
    return {r["agency_id"]: _registration(r) for r in rows}


def _registration(r: asyncpg.Record) -> regions.Registration:
    return regions.Registration(
        r["agency_id"], r["region_code"], r["occurred_at"], r["recorded_at"],
        r["event_agency"], r["event_id"], r["role"], r["incubated_by"], r["retracted"],
    )  # fmt: skip


async def _keep_owners(conn: asyncpg.Connection, subs: list[Submission]) -> None:
    """Pairing ids (with their sides, which never change) and project ids (with their
    agency) are held by the first accepted event that names them."""
    rows: list[tuple[str, str, str, str | None, str | None]] = []
    for sub in subs:
        p = sub.event.payload if sub.event else None
        if isinstance(p, PairingEstablished):
            rows.append(
                ("pairing", p.pairing_id, sub.key[0], p.assisting_agency_id, p.assisted_agency_id)
            )
        elif isinstance(p, ProjectStarted):
            rows.append(("project", p.project_id, p.agency_id, None, None))
    if rows:
        await conn.executemany(
            "INSERT INTO owned_ids (kind, id, agency_id, assisting, assisted)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            rows,
        )


async def _keep_registrations(
    conn: asyncpg.Connection, accepted: list[tuple[Submission, Publication]]
) -> None:
    """Registrations and retractions of them settle the agencies' regions by the one rule.
    Only accepted events get here: a request answered `conflict` changes no region."""
    found = []
    targets = []
    for sub, pub in accepted:
        p = pub.event.payload
        if isinstance(p, AgencyRegistered):
            found.append((sub, pub, p))
        elif isinstance(p, EventRetracted):
            targets.append((sub.key[0], p.target_event_id))
    already = await _retracted_before(conn, [s.key for s, _, _ in found])
    await regions.record(
        conn,
        [
            (
                regions.Registration(
                    p.agency_id, p.region_code, pub.event.occurred_at,
                    pub.recorded_at, sub.key[0], sub.key[1], p.role,
                    p.incubated_by_pairing_id, sub.key in already,
                ),
                p.registered_on,
            )
            for sub, pub, p in found
        ],
    )  # fmt: skip
    await regions.retract(conn, targets)


async def _retracted_before(
    conn: asyncpg.Connection, keys: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Events whose retraction was recorded before them (references arrive in any order)."""
    if not keys:
        return set()
    rows = await conn.fetch(
        "SELECT agency_id, canonical->'payload'->>'target_event_id' AS target FROM event_log"
        " WHERE type = 'event-retracted' AND agency_id = ANY($1::text[])"
        " AND canonical->'payload'->>'target_event_id' = ANY($2::text[])",
        sorted({k[0] for k in keys}),
        sorted({k[1] for k in keys}),
    )
    return {(r["agency_id"], r["target"]) for r in rows} & set(keys)


async def _keep_business_keys(
    conn: asyncpg.Connection, accepted: list[tuple[Submission, Publication]]
) -> None:
    rows = [
        (bk[0], bk[1], s.key[0], s.key[1], p.event.occurred_at, p.recorded_at, s.content)
        for s, p in accepted
        if (bk := s.business_key)
    ]  # fmt: skip
    if rows:
        await conn.execute(
            "INSERT INTO business_keys (kind, key, event_agency, event_id, occurred_at,"
            " recorded_at, content) SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
            " $4::text[], $5::timestamptz[], $6::timestamptz[], $7::bytea[])"
            " ON CONFLICT DO NOTHING",
            *([r[i] for r in rows] for i in range(7)),
        )
    targets = [
        (s.key[0], p.event.payload.target_event_id)
        for s, p in accepted
        if isinstance(p.event.payload, EventRetracted)
    ]
    if targets:
        await conn.execute(
            "UPDATE business_keys b SET retracted = true FROM unnest($1::text[], $2::text[])"
            " AS k(a, e) WHERE b.event_agency = k.a AND b.event_id = k.e",
            [t[0] for t in targets],
            [t[1] for t in targets],
        )


async def _fingerprints(
    conn: asyncpg.Connection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], bytes]:
    """The stored fingerprint of each of these event keys the log already holds."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT l.agency_id, l.event_id, l.content_hash FROM event_log l"
        " JOIN unnest($1::text[], $2::text[]) AS k(agency_id, event_id)"
        " USING (agency_id, event_id)",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["agency_id"], r["event_id"]): r["content_hash"] for r in rows}


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
        [p.event.type for p in pubs],
        [p.event.occurred_at for p in pubs],
        [p.recorded_at for p in pubs],
        [p.region_code for p in pubs],
        [s.fingerprint for s in subs],
        [p.body.decode() for p in pubs],
    )
    return {(r["agency_id"], r["event_id"]): r["seq"] for r in rows}


async def _fill_outbox(conn: asyncpg.Connection, items: list[tuple[int, Publication]]) -> None:
    if items:
        await conn.execute(
            "INSERT INTO outbox (seq, subject, msg_id, body)"
            " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[])",
            [seq for seq, _ in items],
            [p.subject for _, p in items],
            [p.msg_id for _, p in items],
            [p.body for _, p in items],
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
