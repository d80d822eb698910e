"""Keeping the rollups (migrations 002, 003, 020) in step with the facts that count: visits
and facts that start counting add to them, those that stop (retracted, corrected) are taken
out. Sums, minimums and bitwise ors: the same whatever the order."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import asyncpg

from shared.events import SERVICES

TABLES = (
    "visit_totals", "client_first_visit", "fact_totals", "visit_months", "visit_days",
    "client_visit_years",
)  # fmt: skip
# client_visit_years.days (migration 020): per service, in this order, 366 bits, one a day
# of the year. The migration's backfill spells the same order.
SERVICES_IN_BITMAPS: tuple[str, ...] = SERVICES
DAYS_IN_A_YEAR = 366
BITS = len(SERVICES_IN_BITMAPS) * DAYS_IN_A_YEAR
_ZERO = f"0::bit({BITS})"
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
    """Counts and minutes per (agency, month or day, service); each client's day and service
    in its year's bitmap (an or: adding a day twice changes nothing)."""
    for table, unit, of in (("visit_months", "month", _month), ("visit_days", "day", _same)):
        sums: dict[tuple[str, date, str], list[int]] = {}
        for agency, _, _, service, day, minutes in visits:
            t = sums.setdefault((agency, of(day), service), [0, 0])
            t[0], t[1] = t[0] + 1, t[1] + minutes
        await conn.execute(
            f"INSERT INTO {table} (agency_id, {unit}, service, visits, minutes)"
            " SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[])"
            f" ON CONFLICT (agency_id, {unit}, service) DO UPDATE SET"
            f" visits = {table}.visits + EXCLUDED.visits,"
            f" minutes = {table}.minutes + EXCLUDED.minutes",
            *([k[i] for k in sums] for i in range(3)),
            [v[0] for v in sums.values()],
            [v[1] for v in sums.values()],
        )
    await conn.execute(
        "INSERT INTO client_visit_years (agency_id, year, client_agency, client_id, days)"
        f" SELECT a, y, ca, c, bit_or(set_bit({_ZERO}, b, 1))"
        " FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[])"
        " AS v(a, y, ca, c, b) GROUP BY 1, 2, 3, 4"
        " ON CONFLICT (agency_id, year, client_agency, client_id) DO UPDATE SET"
        " days = client_visit_years.days | EXCLUDED.days",
        [v[0] for v in visits],
        [v[4].year for v in visits],
        [v[1] for v in visits],
        [v[2] for v in visits],
        [day_bit(v[3], v[4]) for v in visits],
    )


async def _take_out_days(conn: asyncpg.Connection, visits: list[Visit]) -> None:
    """Subtract the counts and minutes; make the affected bitmaps again from the facts that
    still count (a day stays set while another visit of the client that day counts)."""
    for table, unit, of in (("visit_months", "month", _month), ("visit_days", "day", _same)):
        sums: dict[tuple[str, date, str], list[int]] = defaultdict(lambda: [0, 0])
        for agency, _, _, service, day, minutes in visits:
            sums[(agency, of(day), service)][0] += 1
            sums[(agency, of(day), service)][1] += minutes
        await conn.execute(
            f"UPDATE {table} t SET visits = t.visits - k.v, minutes = t.minutes - k.m"
            " FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[])"
            f" AS k(a, d, s, v, m) WHERE t.agency_id = k.a AND t.{unit} = k.d AND t.service = k.s",
            *([k[i] for k in sums] for i in range(3)),
            [v[0] for v in sums.values()],
            [v[1] for v in sums.values()],
        )
    keys = sorted({(a, day.year, ca, c) for a, ca, c, _, day, _ in visits})
    args = tuple([k[i] for k in keys] for i in range(4))
    await conn.execute(
        "DELETE FROM client_visit_years y"
        " USING unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS k(a, y, ca, c)"
        " WHERE y.agency_id = k.a AND y.year = k.y AND y.client_agency = k.ca"
        " AND y.client_id = k.c",
        *args,
    )
    await conn.execute(
        "INSERT INTO client_visit_years (agency_id, year, client_agency, client_id, days)"
        f" SELECT k.a, k.y, k.ca, k.c, bit_or(set_bit({_ZERO},"
        f" (array_position($5::text[], v.service) - 1) * {DAYS_IN_A_YEAR}"
        " + extract(doy FROM v.visited_on)::int - 1, 1))"
        " FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS k(a, y, ca, c)"
        " JOIN visit_facts v ON v.client_agency = k.ca AND v.client_id = k.c"
        " AND v.agency_id = k.a"
        " AND v.visited_on BETWEEN make_date(k.y, 1, 1) AND make_date(k.y, 12, 31)"
        " WHERE NOT v.retracted AND NOT v.superseded"
        " GROUP BY k.a, k.y, k.ca, k.c",
        *args,
        list(SERVICES_IN_BITMAPS),
    )


def _month(day: date) -> date:
    return day.replace(day=1)


def _same(day: date) -> date:
    return day


def day_bit(service: str, day: date) -> int:
    """A visit's bit in its client's bitmap of the year (migration 020)."""
    place = SERVICES_IN_BITMAPS.index(service)
    return place * DAYS_IN_A_YEAR + day.timetuple().tm_yday - 1


def year_masks(start: date, end: date) -> tuple[int, int, str, str]:
    """What a period [start, end] asks of client_visit_years: its first and last years,
    and the bitmaps of its days in each, every service's (the same one when both are one
    year). The years between are whole: any day counts."""
    first_end = min(end, date(start.year, 12, 31))
    last_start = max(start, date(end.year, 1, 1))
    return start.year, end.year, _mask(start, first_end), _mask(last_start, end)


def _mask(first: date, last: date) -> str:
    """The bits (as '0'/'1' text) of the days first..last of one year, in every service."""
    a, b = first.timetuple().tm_yday - 1, last.timetuple().tm_yday
    return ("0" * a + "1" * (b - a) + "0" * (DAYS_IN_A_YEAR - b)) * len(SERVICES_IN_BITMAPS)


def month_split(
    start: date, end: date
) -> tuple[date | None, date | None, date | None, date | None]:
    """A period [start, end] as visit_months and visit_days read it: the first and last of
    its whole months (their first days), the last day before them and the first day after
    them (the days of the months it holds in part, read day by day). None: none of those."""
    first = start if start.day == 1 else _next_month(start)
    after = end + timedelta(days=1)
    last = _month(after) - timedelta(days=1) if after.day != 1 else end  # a whole month's end
    if first > last:  # no whole month: every day from visit_days
        return None, None, end, None
    head = first - timedelta(days=1) if start < first else None
    tail = last + timedelta(days=1) if last < end else None
    return first, _month(last), head, tail


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


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
