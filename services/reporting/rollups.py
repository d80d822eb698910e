"""Keeping the visit rollups (migration 002) in step with visit_facts: added visits add to
them, retracted visits are taken out. Sums and minimums: the same whatever the order."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

TABLES = ("visit_totals", "client_first_visit")
Visit = tuple[str, str, str, date, int]  # agency, client, service, day, minutes


async def add(conn: asyncpg.Connection, visits: list[Visit]) -> None:
    if not visits:
        return
    totals: dict[tuple[str, str], list[Any]] = {}
    first: dict[tuple[str, str, str], date] = {}
    for agency, client, service, day, minutes in visits:
        t = totals.setdefault((agency, service), [0, 0, day])
        t[0], t[1], t[2] = t[0] + 1, t[1] + minutes, max(t[2], day)
        key = (agency, client, service)
        first[key] = min(first.get(key, day), day)
    await conn.execute(
        "INSERT INTO visit_totals (agency_id, service, visits, minutes, last_on)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::date[])"
        " ON CONFLICT (agency_id, service) DO UPDATE SET"
        " visits = visit_totals.visits + EXCLUDED.visits,"
        " minutes = visit_totals.minutes + EXCLUDED.minutes,"
        " last_on = greatest(visit_totals.last_on, EXCLUDED.last_on)",
        [k[0] for k in totals],
        [k[1] for k in totals],
        [v[0] for v in totals.values()],
        [v[1] for v in totals.values()],
        [v[2] for v in totals.values()],
    )
    await conn.execute(
        "INSERT INTO client_first_visit (agency_id, client_id, service, first_on)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[])"
        " ON CONFLICT (agency_id, client_id, service) DO UPDATE SET"
        " first_on = least(client_first_visit.first_on, EXCLUDED.first_on)",
        [k[0] for k in first],
        [k[1] for k in first],
        [k[2] for k in first],
        list(first.values()),
    )


async def take_out(conn: asyncpg.Connection, visits: list[Visit]) -> None:
    """Retracted visits: subtract them, and recompute the affected first visits."""
    if not visits:
        return
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for agency, _, service, _, minutes in visits:
        totals[(agency, service)][0] += 1
        totals[(agency, service)][1] += minutes
    await conn.execute(
        "UPDATE visit_totals t SET visits = t.visits - k.v, minutes = t.minutes - k.m"
        " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS k(a, s, v, m)"
        " WHERE t.agency_id = k.a AND t.service = k.s",
        [k[0] for k in totals],
        [k[1] for k in totals],
        [v[0] for v in totals.values()],
        [v[1] for v in totals.values()],
    )
    keys = sorted({(a, c, s) for a, c, s, _, _ in visits})
    args = ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    await conn.execute(
        "DELETE FROM client_first_visit f USING unnest($1::text[], $2::text[], $3::text[])"
        " AS k(a, c, s) WHERE f.agency_id = k.a AND f.client_id = k.c AND f.service = k.s",
        *args,
    )
    await conn.execute(
        "INSERT INTO client_first_visit (agency_id, client_id, service, first_on)"
        " SELECT v.agency_id, v.client_id, v.service, min(v.visited_on) FROM visit_facts v"
        " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(a, c, s)"
        " ON v.agency_id = k.a AND v.client_id = k.c AND v.service = k.s"
        " WHERE NOT v.retracted GROUP BY v.agency_id, v.client_id, v.service",
        *args,
    )
