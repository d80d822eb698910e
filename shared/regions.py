"""Regions (SPEC 3.6): what a province's region prefix may be, and the one rule that says
which region an agency is in at any moment. Every service applies the rule below, so
intake, scheduling and reporting always agree on an agency's region.

The rule: an agency is where its registration in force puts it. The registration in force
is its newest registration that is not retracted, newest by `occurred_at`, then by intake's
`recorded_at` (a registration with the same `occurred_at` as an earlier one replaces it:
that is how a clerk corrects a mistake from the start), then by event key. Retracting the
registration in force falls back to the one before it. Only registrations decide: the
region an ordinary event was published under never moves an agency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.events import REGION_PREFIX_PATTERN


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` is not a region prefix a province may hold, with a hint; else None.

    `220000` names the province 22 as a code, not as a prefix: as a prefix it would
    match only the province's own office, so every report would be empty."""
    if not re.match(REGION_PREFIX_PATTERN, prefix or ""):
        return (
            f"{prefix!r} is not a region prefix: use 2, 4, 6 or 12 digits"
            " (province 22, prefecture 2224, county 222405)"
        )
    hint = _shortest(prefix)
    if hint != prefix:
        return f"{prefix!r} is a code, not a prefix: use {hint!r} to cover that region"
    return None


def _shortest(prefix: str) -> str:
    """The prefix a zero-padded code stands for: 220000 -> 22, 222400 -> 2224."""
    if len(prefix) == 12 and prefix.endswith("000000"):
        prefix = prefix[:6]
    if len(prefix) == 6 and prefix.endswith("00"):
        prefix = prefix[:4]
    if len(prefix) == 4 and prefix.endswith("00"):
        prefix = prefix[:2]
    return prefix


@dataclass(frozen=True)
class Registration:
    """One agency-registered event, as far as regions are concerned."""

    agency_id: str  # the agency registered
    region_code: str
    occurred_at: datetime
    recorded_at: datetime
    event_agency: str  # the event's key: its envelope agency and event id
    event_id: str
    role: str = ""
    incubated_by: str | None = None
    retracted: bool = False

    def order(self) -> tuple[datetime, datetime, str, str]:
        return (self.occurred_at, self.recorded_at, self.event_agency, self.event_id)


def in_force(registrations: Iterable[Registration]) -> Registration | None:
    """The registration that places the agency now (see the module's rule)."""
    live = [r for r in registrations if not r.retracted]
    return max(live, key=Registration.order) if live else None


# The tables every service keeps for the rule, declared once here and created before each
# service's migrations (shared.db.migrate), as the outbox is: the registrations as they
# arrive, and the one in force per agency.
SCHEMA = """
CREATE TABLE IF NOT EXISTS agency_registrations (
    agency_id     text NOT NULL,            -- the agency registered
    event_agency  text NOT NULL,            -- the event's key
    event_id      text NOT NULL,
    region_code   text NOT NULL,
    role          text NOT NULL,
    incubated_by  text,
    registered_on date NOT NULL,
    occurred_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL,
    retracted     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (event_agency, event_id)
);
CREATE INDEX IF NOT EXISTS agency_registrations_agency ON agency_registrations (agency_id);

CREATE TABLE IF NOT EXISTS agency_regions (
    agency_id     text PRIMARY KEY,
    region_code   text NOT NULL,
    role          text NOT NULL,
    incubated_by  text,
    registered_on date NOT NULL,
    event_agency  text NOT NULL,            -- the registration in force
    event_id      text NOT NULL
);
"""

# The same rule in SQL, over those tables.
IN_FORCE_ORDER = "occurred_at DESC, recorded_at DESC, event_agency DESC, event_id DESC"

_SETTLE = f"""
WITH chosen AS (
    SELECT DISTINCT ON (agency_id) agency_id, region_code, role, incubated_by, registered_on,
           event_agency, event_id
    FROM agency_registrations
    WHERE agency_id = ANY($1::text[]) AND NOT retracted
    ORDER BY agency_id, {IN_FORCE_ORDER}
), gone AS (
    DELETE FROM agency_regions r WHERE r.agency_id = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM chosen c WHERE c.agency_id = r.agency_id)
)
INSERT INTO agency_regions (agency_id, region_code, role, incubated_by, registered_on,
                            event_agency, event_id)
SELECT * FROM chosen
ON CONFLICT (agency_id) DO UPDATE SET region_code = EXCLUDED.region_code,
    role = EXCLUDED.role, incubated_by = EXCLUDED.incubated_by,
    registered_on = EXCLUDED.registered_on, event_agency = EXCLUDED.event_agency,
    event_id = EXCLUDED.event_id
"""


async def record(
    conn: asyncpg.Connection, registrations: list[tuple[Registration, object]]
) -> None:
    """Keep registrations (with their `registered_on`) and settle their agencies' regions."""
    if not registrations:
        return
    await conn.executemany(
        "INSERT INTO agency_registrations (agency_id, event_agency, event_id, region_code, role,"
        " incubated_by, registered_on, occurred_at, recorded_at, retracted)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (event_agency, event_id) DO NOTHING",
        [
            (
                r.agency_id, r.event_agency, r.event_id, r.region_code, r.role, r.incubated_by,
                registered_on, r.occurred_at, r.recorded_at, r.retracted,
            )
            for r, registered_on in registrations
        ],
    )  # fmt: skip
    await settle(conn, sorted({r.agency_id for r, _ in registrations}))


async def retract(conn: asyncpg.Connection, targets: list[tuple[str, str]]) -> list[str]:
    """Retract registrations by event key (agency, event id); the agencies whose region may
    have changed are settled again. A retraction that arrives before its target is kept
    by the caller (retractions tables) and applied through `record`'s `retracted` flag."""
    if not targets:
        return []
    rows = await conn.fetch(
        "UPDATE agency_registrations g SET retracted = true"
        " FROM unnest($1::text[], $2::text[]) AS k(a, e)"
        " WHERE g.event_agency = k.a AND g.event_id = k.e AND NOT g.retracted"
        " RETURNING g.agency_id",
        [t[0] for t in targets],
        [t[1] for t in targets],
    )
    agencies = sorted({r["agency_id"] for r in rows})
    await settle(conn, agencies)
    return agencies


async def settle(conn: asyncpg.Connection, agency_ids: list[str]) -> None:
    """Recompute the region in force of these agencies from their registrations."""
    if agency_ids:
        await conn.execute(_SETTLE, agency_ids)
