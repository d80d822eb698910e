"""Staff-days, activities and trainings kept by day (migration 021), in the consumer's
transaction like the rollups of rollups.py, so a live summary of any period counts them
without expanding every dispatch or reading every fact of the period.

SPEC 3.6 counts each (pairing, worker, day) once however dispatches overlap, and
`summary._of_pairing` decides where it counts from the pairing, the day and the agencies
that reported dispatches covering it (a side of the pairing, or while the pairing is
unknown, an agency in scope that day). So two tables:
- `dispatch_days`: each (pairing, worker, day, reporting agency) covered by counted
  dispatches, with how many cover it (a retraction or correction takes one away; the row
  goes at 0);
- `staff_day_counts`: per (pairing, day, reporters) the workers covered that day whose
  reporting agencies are exactly `reporters`. Where a (pairing, worker, day) counts
  depends only on those three, so a summary sums `workers` over the rows `_of_pairing`
  accepts: the same figure as the distinct days of the facts, whatever the scope's days.

Activities and trainings are added up per (agency that reported them, pairing ('' for
activities), kind) and day in `fact_days`, and per month in `fact_months`: a period reads
its whole months from the one and its edge days from the other. A training keeps its
pairing, so `_of_pairing` places it as it places the facts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import asyncpg

TABLES = ("dispatch_days", "staff_day_counts", "fact_days", "fact_months")
# The columns of a fact row this module needs (projections.py asks for them).
COLUMNS = {
    "dispatch_facts": ("agency_id", "pairing_id", "worker_id", "from_date", "to_date"),
    "activity_facts": ("agency_id", "kind", "held_on", "attendees"),
    "training_facts": ("agency_id", "pairing_id", "kind", "held_on", "attendances", "hours"),
}
SEPARATOR = ","  # agency ids never hold one (shared/events.AGENCY_ID_PATTERN)

Covered = tuple[str, str, date]  # pairing, worker, day
Reporters = tuple[str, ...]  # sorted agencies with dispatches covering a (pairing, worker, day)


def covered_days(rows: list[dict[str, Any]], sign: int) -> dict[tuple[Covered, str], int]:
    """Each dispatch's days with its reporting agency, and by how much they change."""
    change: dict[tuple[Covered, str], int] = defaultdict(int)
    for r in rows:
        day, last = r["from_date"], r["to_date"]
        while day <= last:
            change[((r["pairing_id"], r["worker_id"], day), r["agency_id"])] += sign
            day += timedelta(days=1)
    return change


def moves(
    before: dict[Covered, dict[str, int]], change: dict[tuple[Covered, str], int]
) -> tuple[dict[Covered, dict[str, int]], dict[tuple[str, Reporters, date], int]]:
    """The covers after `change` (per day, agency -> dispatches; 0 means the row goes) and
    how the workers per (pairing, reporters, day) move: a day whose reporters change
    leaves its old group and joins its new one (none: it no longer counts at all)."""
    after: dict[Covered, dict[str, int]] = {k: dict(v) for k, v in before.items()}
    for (key, agency), n in change.items():
        held = after.setdefault(key, {})
        held[agency] = held.get(agency, 0) + n
        assert held[agency] >= 0, f"{key} {agency}: taken out more often than added"
    counts: dict[tuple[str, Reporters, date], int] = defaultdict(int)
    for key, held in after.items():
        old = _reporters(before.get(key, {}))
        new = _reporters(held)
        if old != new:
            pairing, _, day = key
            if old:
                counts[(pairing, old, day)] -= 1
            if new:
                counts[(pairing, new, day)] += 1
    return after, {k: n for k, n in counts.items() if n}


def _reporters(held: dict[str, int]) -> Reporters:
    return tuple(sorted(a for a, n in held.items() if n > 0))


async def change(
    conn: asyncpg.Connection, table: str, rows: list[dict[str, Any]], sign: int
) -> None:
    """Dispatches that start counting (sign 1) or stop (-1): one read and at most four
    writes per call, whatever the number of dispatches (projections._count calls it per batch)."""
    if table not in COLUMNS or not rows:
        return
    if table != "dispatch_facts":
        await _add_up(conn, table, rows, sign)
        return
    delta = covered_days(rows, sign)
    keys = sorted({key for key, _ in delta})
    found = await conn.fetch(
        "SELECT d.pairing_id, d.worker_id, d.day, d.agency_id, d.dispatches FROM dispatch_days d"
        " JOIN unnest($1::text[], $2::text[], $3::date[]) AS k(p, w, d)"
        " ON d.pairing_id = k.p AND d.worker_id = k.w AND d.day = k.d",
        *_columns(keys, 3),
    )
    before: dict[Covered, dict[str, int]] = defaultdict(dict)
    for r in found:
        before[(r["pairing_id"], r["worker_id"], r["day"])][r["agency_id"]] = r["dispatches"]
    after, counts = moves(before, delta)
    touched = sorted({(key, agency) for key, agency in delta})
    kept = [(k, a) for k, a in touched if after[k].get(a, 0) > 0]
    gone = [(k, a) for k, a in touched if after[k].get(a, 0) == 0]
    if kept:
        await conn.execute(
            "INSERT INTO dispatch_days (pairing_id, worker_id, day, agency_id, dispatches)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int[])"
            " ON CONFLICT (pairing_id, worker_id, day, agency_id)"
            " DO UPDATE SET dispatches = EXCLUDED.dispatches",
            *_columns([k for k, _ in kept], 3),
            [a for _, a in kept],
            [after[k][a] for k, a in kept],
        )
    if gone:
        await conn.execute(
            "DELETE FROM dispatch_days d"
            " USING unnest($1::text[], $2::text[], $3::date[], $4::text[]) AS k(p, w, d, a)"
            " WHERE d.pairing_id = k.p AND d.worker_id = k.w AND d.day = k.d"
            " AND d.agency_id = k.a",
            *_columns([k for k, _ in gone], 3),
            [a for _, a in gone],
        )
    if counts:
        groups = sorted(counts)
        args = (
            [g[0] for g in groups],
            [SEPARATOR.join(g[1]) for g in groups],
            [g[2] for g in groups],
        )
        await conn.execute(
            "INSERT INTO staff_day_counts (pairing_id, reporters, day, workers)"
            " SELECT p, string_to_array(r, $5), d, n"
            " FROM unnest($1::text[], $2::text[], $3::date[], $4::int[]) AS k(p, r, d, n)"
            " ON CONFLICT (pairing_id, day, reporters)"
            " DO UPDATE SET workers = staff_day_counts.workers + EXCLUDED.workers",
            *args,
            [counts[g] for g in groups],
            SEPARATOR,
        )
        await conn.execute(  # groups no worker is left in
            "DELETE FROM staff_day_counts s"
            " USING unnest($1::text[], $2::text[], $3::date[]) AS k(p, r, d)"
            " WHERE s.pairing_id = k.p AND s.reporters = string_to_array(k.r, $4)"
            " AND s.day = k.d AND s.workers = 0",
            *args,
            SEPARATOR,
        )


# (agency, pairing, kind, day) -> [held, attendees or attendances, hours]
Sums = dict[tuple[str, str, str, date], list[Any]]


def sums(table: str, rows: list[dict[str, Any]], sign: int) -> tuple[Sums, Sums]:
    """What `rows` of activity_facts or training_facts add (sign 1) or take out (-1), per
    day and per month (keyed by its first day)."""
    by_day: Sums = {}
    by_month: Sums = {}
    for r in rows:
        training = table == "training_facts"
        pairing = r["pairing_id"] if training else ""
        a = r["attendances"] if training else r["attendees"]
        b = r["hours"] if training else 0
        day: date = r["held_on"]
        for out, when in ((by_day, day), (by_month, day.replace(day=1))):
            t = out.setdefault((r["agency_id"], pairing, r["kind"], when), [0, 0, 0])
            t[0], t[1], t[2] = t[0] + sign, t[1] + sign * a, t[2] + sign * b
    return by_day, by_month


async def _add_up(
    conn: asyncpg.Connection, table: str, rows: list[dict[str, Any]], sign: int
) -> None:
    """Rows of a fact that start (sign 1) or stop (-1) counting, into both tables. A
    group taken down to nothing keeps its row at 0: it adds nothing to a sum."""
    by_day, by_month = sums(table, rows, sign)
    for target, column, found in (("fact_days", "day", by_day), ("fact_months", "month", by_month)):
        keys = sorted(found)
        await conn.execute(
            f"INSERT INTO {target} (fact, agency_id, pairing_id, kind, {column}, n, a, b)"
            " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::date[],"
            " $6::bigint[], $7::numeric[], $8::numeric[])"
            f" ON CONFLICT (fact, {column}, agency_id, pairing_id, kind) DO UPDATE SET"
            f" n = {target}.n + EXCLUDED.n, a = {target}.a + EXCLUDED.a,"
            f" b = {target}.b + EXCLUDED.b",
            table,
            *_columns(keys, 4),
            *_columns([found[k] for k in keys], 3),
        )


def _columns(keys: list[Any], width: int) -> list[list[Any]]:
    return [[k[i] for k in keys] for i in range(width)]
