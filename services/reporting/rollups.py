"""Keeping the rollups (migrations 002, 003) in step with the facts that count: visits and
facts that start counting add to them, those that stop (retracted, corrected) are taken
out. Sums and minimums: the same whatever the order."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

TABLES = ("visit_totals", "client_first_visit", "fact_totals")
# agency (the visit's), client's agency, client, service, day, minutes
Visit = tuple[str, str, str, str, date, int]


async def add(conn: asyncpg.Connection, visits: list[Visit]) -> None:
    if not visits:
        return
    totals: dict[tuple[str, str], list[Any]] = {}
    first: dict[tuple[str, str, str, str], date] = {}
    for agency, client_agency, client, service, day, minutes in visits:
        t = totals.setdefault((agency, service), [0, 0, day])
        t[0], t[1], t[2] = t[0] + 1, t[1] + minutes, max(t[2], day)
        key = (agency, client_agency, client, service)
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
        "INSERT INTO client_first_visit (agency_id, client_agency, client_id, service, first_on)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[])"
        " ON CONFLICT (agency_id, client_agency, client_id, service) DO UPDATE SET"
        " first_on = least(client_first_visit.first_on, EXCLUDED.first_on)",
        [k[0] for k in first],
        [k[1] for k in first],
        [k[2] for k in first],
        [k[3] for k in first],
        list(first.values()),
    )


async def take_out(conn: asyncpg.Connection, visits: list[Visit]) -> None:
    """Visits that stop counting: subtract them, and recompute the affected first visits."""
    if not visits:
        return
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for agency, _, _, service, _, minutes in visits:
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
    keys = sorted({(a, ca, c, s) for a, ca, c, s, _, _ in visits})
    args = tuple([k[i] for k in keys] for i in range(4))
    await conn.execute(
        "DELETE FROM client_first_visit f"
        " USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(a, ca, c, s)"
        " WHERE f.agency_id = k.a AND f.client_agency = k.ca AND f.client_id = k.c"
        " AND f.service = k.s",
        *args,
    )
    await conn.execute(
        "INSERT INTO client_first_visit (agency_id, client_agency, client_id, service, first_on)"
        " SELECT v.agency_id, v.client_agency, v.client_id, v.service, min(v.visited_on)"
        " FROM visit_facts v"
        " JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(a, ca, c, s)"
        " ON v.agency_id = k.a AND v.client_agency = k.ca AND v.client_id = k.c"
        " AND v.service = k.s"
        " WHERE NOT v.retracted AND NOT v.superseded"
        " GROUP BY v.agency_id, v.client_agency, v.client_id, v.service",
        *args,
    )


# fact table -> the columns a total needs, and (agency, key, n, a, b, day) from a row
Total = tuple[str, str, int, Any, Any, date]
TOTALLED: dict[str, tuple[tuple[str, ...], Any]] = {
    "activity_facts": (
        ("agency_id", "kind", "held_on", "attendees"),
        lambda d: (d["agency_id"], d["kind"], 1, d["attendees"], 0, d["held_on"]),
    ),
    "training_facts": (
        ("agency_id", "kind", "held_on", "attendances", "hours"),
        lambda d: (d["agency_id"], d["kind"], 1, d["attendances"], d["hours"], d["held_on"]),
    ),
}


async def change_totals(
    conn: asyncpg.Connection, fact: str, rows: list[dict[str, Any]], sign: int
) -> None:
    """Add (sign 1) or take out (sign -1) rows of a totalled fact table."""
    if not rows:
        return
    make = TOTALLED[fact][1]
    sums: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        agency, key, n, a, b, day = make(row)
        t = sums.setdefault((agency, key), [0, 0, 0, day])
        t[0], t[1], t[2], t[3] = t[0] + n, t[1] + a, t[2] + b, max(t[3], day)
    await conn.execute(
        "INSERT INTO fact_totals (fact, agency_id, key, n, a, b, last_on)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::numeric[],"
        " $6::numeric[], $7::date[])"
        " ON CONFLICT (fact, agency_id, key) DO UPDATE SET n = fact_totals.n + EXCLUDED.n,"
        " a = fact_totals.a + EXCLUDED.a, b = fact_totals.b + EXCLUDED.b,"
        " last_on = greatest(fact_totals.last_on, EXCLUDED.last_on)",
        fact,
        [k[0] for k in sums],
        [k[1] for k in sums],
        [sign * v[0] for v in sums.values()],
        [sign * v[1] for v in sums.values()],
        [sign * v[2] for v in sums.values()],
        [v[3] for v in sums.values()],
    )
