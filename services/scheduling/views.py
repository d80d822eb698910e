"""Scheduling's read models as plain SQL: visit slots by status, a worker's schedule, a
pairing's dispatches. Callers pass the scope the principal is allowed to see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from shared.clock import CHINA

SLOT_COLUMNS = (
    "slot_id, plan_id, seq, agency_id, client_id, service, worker_id, window_start,"
    " window_end, status, conflict, visit_id, late, done_at, overdue_at"
)


@dataclass(frozen=True)
class Scope:
    """Which slots a read covers: one agency, a region prefix, a pairing's scope (SPEC 3.6:
    clients of projects started under it, agencies it incubated), or everything (None).
    Set fields narrow together."""

    agency_id: str | None = None
    region_prefix: str | None = None
    pairing_id: str | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=CHINA)


def _where(scope: Scope, args: list[Any]) -> list[str]:
    clauses = []
    if scope.agency_id is not None:
        args.append(scope.agency_id)
        clauses.append(f"agency_id = ${len(args)}")
    if scope.region_prefix is not None:
        args.append(scope.region_prefix)
        clauses.append(
            "agency_id IN (SELECT agency_id FROM agency_regions"
            f" WHERE starts_with(region_code, ${len(args)}))"
        )
    if scope.pairing_id is not None:
        args.append(scope.pairing_id)
        n = len(args)
        clauses.append(
            "((agency_id, client_id) IN (SELECT c.agency_id, c.client_id FROM clients c"
            " JOIN projects p ON p.project_id = c.project_id AND NOT p.superseded"
            f" WHERE NOT c.superseded AND p.pairing_id = ${n})"
            f" OR agency_id IN (SELECT agency_id FROM agency_regions WHERE incubated_by = ${n}))"
        )
    return clauses


async def slots(
    pool: asyncpg.Pool,
    scope: Scope,
    *,
    status: str | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    worker_id: str | None = None,
    client_id: str | None = None,
    plan_id: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Slots in scope, by window start; `day_from`/`day_to` are inclusive China dates."""
    args: list[Any] = []
    clauses = _where(scope, args)
    for column, value in (
        ("status", status), ("worker_id", worker_id), ("client_id", client_id),
        ("plan_id", plan_id),
    ):  # fmt: skip
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    if day_from is not None:
        args.append(_day_start(day_from))
        clauses.append(f"window_start >= ${len(args)}")
    if day_to is not None:
        args.append(_day_start(day_to + timedelta(days=1)))
        clauses.append(f"window_start < ${len(args)}")
    args.append(limit)
    where = " AND ".join(clauses) or "true"
    rows = await pool.fetch(
        f"SELECT {SLOT_COLUMNS} FROM slots WHERE {where}"
        f" ORDER BY window_start, slot_id LIMIT ${len(args)}",
        *args,
    )
    return [_slot(r) for r in rows]


def _slot(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    for key in ("window_start", "window_end", "done_at", "overdue_at"):
        if out[key] is not None:
            out[key] = out[key].astimezone(CHINA).isoformat()
    return out


async def status_counts(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT status, count(*) AS n FROM slots GROUP BY status")
    return {r["status"]: int(r["n"]) for r in rows}


async def pairing_agencies(pool: asyncpg.Pool, pairing_id: str) -> set[str]:
    """The agencies whose workers a pairing's scope may name: its two sides and the agencies
    it incubated."""
    rows = await pool.fetch(
        "SELECT unnest(ARRAY[assisting_agency_id, assisted_agency_id]) AS a FROM pairings"
        " WHERE pairing_id = $1 AND NOT superseded"
        " UNION SELECT agency_id FROM agency_regions WHERE incubated_by = $1",
        pairing_id,
    )
    return {r["a"] for r in rows}


async def worker_agencies(pool: asyncpg.Pool, worker_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT DISTINCT agency_id FROM workers WHERE worker_id = $1 ORDER BY agency_id",
        worker_id,
    )
    return [r["agency_id"] for r in rows]


# An entity as it stands: its version in force, else (all retracted) its newest version,
# shown `retracted`.
_CURRENT = " ORDER BY superseded, occurred_at DESC, recorded_at DESC, event_id DESC LIMIT 1"


async def worker(pool: asyncpg.Pool, agency_id: str, worker_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT agency_id, worker_id, role, languages, superseded AS retracted FROM workers"
        " WHERE agency_id = $1 AND worker_id = $2" + _CURRENT,
        agency_id,
        worker_id,
    )
    return dict(row) if row else None


async def client(pool: asyncpg.Pool, agency_id: str, client_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT agency_id, client_id, ethnicity, superseded AS retracted FROM clients"
        " WHERE agency_id = $1 AND client_id = $2" + _CURRENT,
        agency_id,
        client_id,
    )
    return dict(row) if row else None


async def pairing(pool: asyncpg.Pool, pairing_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT * FROM pairings WHERE pairing_id = $1 AND NOT superseded", pairing_id
    )
    return dict(row) if row else None


async def dispatches(pool: asyncpg.Pool, pairing_id: str) -> list[tuple[date, date, str]]:
    """The pairing's dispatches that count (one version each): from, to, worker."""
    rows = await pool.fetch(
        "SELECT from_date, to_date, worker_id FROM staff_dispatches"
        " WHERE pairing_id = $1 AND NOT superseded",
        pairing_id,
    )
    return [(r["from_date"], r["to_date"], r["worker_id"]) for r in rows]
