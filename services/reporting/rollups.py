"""Keeping the rollups (migrations 002, 003, 020) in step with the facts that count: visits
and facts that start counting add to them, those that stop (retracted, corrected) are taken
out. Sums, minimums and bitwise ors: the same whatever the order."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

TABLES = ("visit_totals", "client_first_visit", "fact_totals", "visit_days", "client_visit_years")
DAYS_IN_A_YEAR = 366  # a bitmap's length (client_visit_years.days): bit (day of year - 1)
# The bit of a visit's day in its year's bitmap, as migration 020 backfilled it.
_DAY_BIT = "set_bit(0::bit(366), extract(doy FROM {day})::int - 1, 1)"
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
    await _add_days(conn, visits)


async def _add_days(conn: asyncpg.Connection, visits: list[Visit]) -> None:
    """Counts and minutes per (agency, day, service); each client's day in its year's bitmap
    (an or: adding a day twice changes nothing)."""
    days: dict[tuple[str, date, str], list[int]] = {}
    for agency, _, _, service, day, minutes in visits:
        d = days.setdefault((agency, day, service), [0, 0])
        d[0], d[1] = d[0] + 1, d[1] + minutes
    await conn.execute(
        "INSERT INTO visit_days (agency_id, day, service, visits, minutes)"
        " SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[])"
        " ON CONFLICT (agency_id, day, service) DO UPDATE SET"
        " visits = visit_days.visits + EXCLUDED.visits,"
        " minutes = visit_days.minutes + EXCLUDED.minutes",
        [k[0] for k in days],
        [k[1] for k in days],
        [k[2] for k in days],
        [v[0] for v in days.values()],
        [v[1] for v in days.values()],
    )
    await conn.execute(
        "INSERT INTO client_visit_years (agency_id, year, client_agency, client_id, service, days)"
        " SELECT a, extract(year FROM d)::int, ca, c, s, bit_or(" + _DAY_BIT.format(day="d") + ")"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[])"
        " AS v(a, ca, c, s, d) GROUP BY 1, 2, 3, 4, 5"
        " ON CONFLICT (agency_id, year, client_agency, client_id, service) DO UPDATE SET"
        " days = client_visit_years.days | EXCLUDED.days",
        *([v[i] for v in visits] for i in (0, 1, 2, 3, 4)),
    )


async def _take_out_days(conn: asyncpg.Connection, visits: list[Visit]) -> None:
    """Subtract the counts and minutes; make the affected bitmaps again from the facts that
    still count (a day stays set while another visit of the client that day counts)."""
    days: dict[tuple[str, date, str], list[int]] = defaultdict(lambda: [0, 0])
    for agency, _, _, service, day, minutes in visits:
        days[(agency, day, service)][0] += 1
        days[(agency, day, service)][1] += minutes
    await conn.execute(
        "UPDATE visit_days t SET visits = t.visits - k.v, minutes = t.minutes - k.m"
        " FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[])"
        " AS k(a, d, s, v, m) WHERE t.agency_id = k.a AND t.day = k.d AND t.service = k.s",
        [k[0] for k in days],
        [k[1] for k in days],
        [k[2] for k in days],
        [v[0] for v in days.values()],
        [v[1] for v in days.values()],
    )
    keys = sorted({(a, day.year, ca, c, s) for a, ca, c, s, day, _ in visits})
    args = tuple([k[i] for k in keys] for i in range(5))
    await conn.execute(
        "DELETE FROM client_visit_years y"
        " USING unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])"
        " AS k(a, y, ca, c, s)"
        " WHERE y.agency_id = k.a AND y.year = k.y AND y.client_agency = k.ca"
        " AND y.client_id = k.c AND y.service = k.s",
        *args,
    )
    await conn.execute(
        "INSERT INTO client_visit_years (agency_id, year, client_agency, client_id, service, days)"
        " SELECT k.a, k.y, k.ca, k.c, k.s, bit_or(" + _DAY_BIT.format(day="v.visited_on") + ")"
        " FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])"
        " AS k(a, y, ca, c, s)"
        " JOIN visit_facts v ON v.client_agency = k.ca AND v.client_id = k.c"
        " AND v.service = k.s AND v.agency_id = k.a"
        " AND v.visited_on BETWEEN make_date(k.y, 1, 1) AND make_date(k.y, 12, 31)"
        " WHERE NOT v.retracted AND NOT v.superseded"
        " GROUP BY k.a, k.y, k.ca, k.c, k.s",
        *args,
    )


def year_masks(start: date, end: date) -> tuple[int, int, str, str]:
    """What a period [start, end] asks of client_visit_years: its first and last years,
    and the bitmaps of its days in each (the same one when both are one year). The years
    between are whole: any day counts."""
    first_end = min(end, date(start.year, 12, 31))
    last_start = max(start, date(end.year, 1, 1))
    return start.year, end.year, _mask(start, first_end), _mask(last_start, end)


def _mask(first: date, last: date) -> str:
    """The bits (as '0'/'1' text) of the days first..last of one year."""
    a, b = first.timetuple().tm_yday - 1, last.timetuple().tm_yday
    return "0" * a + "1" * (b - a) + "0" * (DAYS_IN_A_YEAR - b)


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
    await _take_out_days(conn, visits)


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
