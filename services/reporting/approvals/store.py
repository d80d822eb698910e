"""Approvals in reporting's database: the projection of period-approved events (applied
in the consumer's transaction, so a rebuild makes them again from EVENTS) and the reads.
An approval is superseded by a later one of the same scope and period; nothing is deleted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from services.reporting.approvals.domain import canonical
from shared.events import Canonical, PeriodApproved

APPROVED = "period-approved"

_COLUMNS = (
    "approval_id, event_id, region, pairing, from_on, to_on, approver, approved_at,"
    " stream_seq, watermark, fingerprint, figures, supersedes"
)


async def record(conn: asyncpg.Connection, events: list[Canonical]) -> None:
    """Keep each approval as its event says; the figures byte for byte."""
    rows = []
    for e in events:
        p = e.payload
        if not isinstance(p, PeriodApproved):
            continue
        rows.append(
            (
                p.approval_id, e.event_id, p.scope.region, p.scope.pairing, p.from_, p.to_,
                p.approver, e.occurred_at, p.stream_seq, p.watermark, p.fingerprint,
                canonical(p.figures).decode(), p.supersedes,
            )
        )  # fmt: skip
    if rows:
        await conn.executemany(
            f"INSERT INTO approvals ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " $10, $11, $12, $13) ON CONFLICT (approval_id) DO NOTHING",
            rows,
        )


# The newest approval of a scope and period is in force; each older one names the one
# that came after it.
_WITH_SUCCESSOR = f"""
SELECT {_COLUMNS}, lead(approval_id) OVER (
    PARTITION BY region, pairing, from_on, to_on ORDER BY approved_at, approval_id
) AS superseded_by
FROM approvals
"""


async def listing(
    conn: asyncpg.Connection | asyncpg.Pool, region: str | None, pairing: str | None
) -> list[dict[str, Any]]:
    """A region's approvals (and those of regions inside it), or a pairing's; newest first."""
    rows = await conn.fetch(
        f"SELECT * FROM ({_WITH_SUCCESSOR}) a"
        " WHERE ($1::text IS NULL OR region LIKE $1 || '%') AND ($2::text IS NULL OR pairing = $2)"
        " AND ($1::text IS NOT NULL OR $2::text IS NOT NULL)"
        " ORDER BY approved_at DESC, approval_id DESC",
        region,
        pairing,
    )
    return [dict(r) for r in rows]


async def one(conn: asyncpg.Connection | asyncpg.Pool, approval_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT * FROM ({_WITH_SUCCESSOR}) a WHERE approval_id = $1", approval_id
    )
    return dict(row) if row else None


async def in_force(
    conn: asyncpg.Connection | asyncpg.Pool,
    region: str | None,
    pairing: str | None,
    start: date,
    end: date,
    as_of: datetime | None = None,
) -> dict[str, Any] | None:
    """The approval in force for exactly this scope and period, if any (at `as_of`: the
    newest approved by then)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, NULL::text AS superseded_by FROM approvals"
        " WHERE region IS NOT DISTINCT FROM $1 AND pairing IS NOT DISTINCT FROM $2"
        " AND from_on = $3 AND to_on = $4 AND ($5::timestamptz IS NULL OR approved_at <= $5)"
        " ORDER BY approved_at DESC, approval_id DESC LIMIT 1",
        region,
        pairing,
        start,
        end,
        as_of,
    )
    return dict(row) if row else None
