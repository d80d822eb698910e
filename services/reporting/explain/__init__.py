"""Provenance (SPEC 3.7): the events behind one figure of the summary, a page at a time.

`explain(conn, scope, kpi, key)` lists, under the same scope and filters as the summary,
one row per thing the figure counts: the event in force for it (event id, agency, type,
occurred_at, recorded_at), the value it adds (the figure is the sum of the values, see
bases.py) and the events it replaced (corrections, earlier registrations, retracted
versions with their retractions). Rows come in a stable order; the cursor is opaque.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from services.reporting import basis as counted
from services.reporting.explain.bases import BASES, NOT_EVENTS, Rows
from services.reporting.explain.history import replaced
from services.reporting.kpis import BY_NAME
from services.reporting.placement import place
from services.reporting.summary import _PARAMS, Scope, fill, pairing_projects
from shared.errors import Invalid, field_error
from shared.programme import target_between

MAX_LIMIT = 1000
EXPLAINABLE = tuple(BASES)

# After the summary's $1..$10: $11..$13 the cursor (cell, agency_id, event_id), $14 the
# cell, $15 recorded after, $16 limit.
_PAGE = (
    "SELECT * FROM ({rows}) r"
    " WHERE ($11::text IS NULL OR (r.cell, r.agency_id, r.event_id) > ($11::text, $12::text, $13::text))"
    " AND ($14::text IS NULL OR r.cell = $14::text)"
    " AND ($15::timestamptz IS NULL OR r.recorded_at > $15::timestamptz)"
    " ORDER BY r.cell, r.agency_id, r.event_id LIMIT $16::int"
)


@dataclass(frozen=True)
class Page:
    kpi: str
    key: str | None
    adds: str  # how the rows add up to the figure
    rows: list[dict[str, Any]]
    next_cursor: str | None


def basis(kpi: str, key: str | None) -> Rows:
    """The rows behind `kpi` (and its cell `key`), or Invalid naming the `kpi` parameter."""
    if kpi in NOT_EVENTS:
        raise Invalid(f"{kpi} is not made of events", [field_error("kpi", NOT_EVENTS[kpi])])
    found = BASES.get(kpi)
    if found is None:
        raise Invalid(f"no KPI {kpi!r}", [field_error("kpi", "one of " + ", ".join(EXPLAINABLE))])
    cells = BY_NAME[kpi].cells
    if key is not None and key not in cells:
        hint = "one of " + ", ".join(cells) if cells else f"{kpi} has no cells"
        raise Invalid(f"{kpi} has no cell {key!r}", [field_error("kpi", hint)])
    return found


def parse(kpi: str) -> tuple[str, str | None]:
    """`visits_by_service.home-medication` -> (visits_by_service, home-medication)."""
    name, dot, key = kpi.partition(".")
    return name, (key if dot else None)


async def explain(
    conn: asyncpg.Connection,
    scope: Scope,
    kpi: str,
    key: str | None = None,
    *,
    recorded_after: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page:
    """One page of the rows behind `kpi` (`key`) for an authorized `scope`. Run it inside a
    repeatable-read transaction when its answer must agree with a summary read beside it."""
    chosen = basis(kpi, key)
    after = position_of(cursor)
    start, end = scope.bounds()
    placed = await place(conn, scope)
    if chosen.on_last_day and scope.start is None:
        start = end
    projects = await pairing_projects(conn, scope.pairing, scope.basis) if scope.pairing else None
    sql = chosen.sql
    sql = fill(sql, scope.basis, scope.project is not None or projects is not None)
    for name, relation in _relations(scope.basis).items():
        sql = sql.replace("{" + name + "}", relation)
    spans = placed.partial
    found = await conn.fetch(
        _PARAMS + _PAGE.format(rows=sql),
        placed.stock, start, end, scope.pairing, scope.project, projects, placed.whole,
        [s[0] for s in spans], [s[1] for s in spans], [s[2] for s in spans],
        *after, key, recorded_after, min(max(limit, 1), MAX_LIMIT) + 1,
    )  # fmt: skip
    more = len(found) > min(max(limit, 1), MAX_LIMIT)
    rows = [dict(r) for r in found[: len(found) - 1 if more else len(found)]]
    if chosen.prorated:
        await _prorate(conn, rows, start, end)
    await replaced(conn, rows, scope.as_of)
    last = rows[-1] if rows and more else None
    return Page(
        kpi,
        key,
        chosen.adds,
        [_public(r) for r in rows],
        cursor_at(last["cell"], last["agency_id"], last["event_id"]) if last else None,
    )


async def _prorate(
    conn: asyncpg.Connection, rows: list[dict[str, Any]], start: Any, end: Any
) -> None:
    """A pairing's share of the staff-days target over the period (shared/programme.py)."""
    for row in rows:
        terms = await conn.fetchrow(
            "SELECT starts_on, ends_on, staff_days_per_year FROM pairing_facts"
            " WHERE agency_id = $1 AND event_id = $2",
            row["agency_id"],
            row["event_id"],
        )
        assert terms is not None
        first, last, per_year = terms
        row["value"] = target_between(first, last, per_year, start, end)


def _relations(basis: counted.Basis) -> dict[str, str]:
    """The summary's relations (basis.py), and the two explain adds from the same module:
    pairings in force with their event, and workers' registrations."""
    return {
        **counted.relations(basis),
        "pairings_in_force": counted._current("pairing_facts", "pairing_id", "*", basis),
        "worker_rows": counted.rows("worker_facts", basis),
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    value = row["value"]
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    return {
        "event_id": row["event_id"],
        "agency_id": row["agency_id"],
        "type": row["type"],
        "occurred_at": row["occurred_at"],
        "recorded_at": row["recorded_at"],
        "cell": row["cell"] or None,
        "counts": row["counts"],
        "value": value,
        "replaces": row["replaces"],
    }


def cursor_at(*position: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def position_of(cursor: str | None) -> tuple[str | None, str | None, str | None]:
    if cursor is None:
        return None, None, None
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        position = None
    if not (isinstance(position, list) and len(position) == 3
            and all(isinstance(p, str) and "\x00" not in p for p in position)):  # fmt: skip
        raise Invalid("cursor is not one this endpoint gave", [field_error("cursor", "opaque")])
    return position[0], position[1], position[2]
