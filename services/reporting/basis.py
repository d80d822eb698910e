"""The rows that count, for every figure: one definition per table of which rows a summary
reads, live or as of a moment (SPEC 3.7 `as_of`), and the entities' states over time built
from them (SPEC 3.6 "Time"). summary.py counts over these relations; an explanation of a
figure (`explain`) can list the same rows.

- **Live** (no `as_of`): what reporting has applied, fast: a fact counts when it is not
  retracted and, for a fact with a business key, not superseded (projections.py keeps
  those flags); the rollups may answer instead.
- **As of T**: the rows intake had recorded by T, dropped only by retractions
  recorded by T, the newest per business key among them: the figures as they stood when
  intake had recorded the events up to T. Never from the rollups.

Every relation is SQL text (a parenthesised subquery); T is written into it as a literal
(a datetime, never text from a request), so any query can use it whatever its parameters.

An entity's state on a day D (agencies, workers, clients) is its newest live registration
whose `occurred_at` falls on D or before (China date), in the order every service uses
(shared/regions.py); before its first registration's day, that day's. `*_periods` give
each state with the days it holds: `valid_from` .. `valid_to` (open ends are -infinity and
infinity), and `first_on`, the day of the first registration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.reporting.facts import KEYED

# The China date of a timestamptz (UTC+8, as shared.clock.china_date).
CHINA_DAY = "(({col} AT TIME ZONE 'UTC') + interval '8 hours')::date"
NEWEST = "occurred_at DESC, recorded_at DESC, agency_id DESC, event_id DESC"


@dataclass(frozen=True)
class Basis:
    """Which rows count: everything applied (`as_of` None) or as of a moment."""

    as_of: datetime | None = None

    @property
    def live(self) -> bool:
        return self.as_of is None

    @property
    def moment(self) -> str:
        """T as SQL."""
        assert self.as_of is not None and self.as_of.tzinfo is not None
        return f"'{self.as_of.isoformat()}'::timestamptz"


def _unretracted(basis: Basis, alias: str, agency: str = "agency_id") -> str:
    """No retraction of the row's event recorded by T."""
    return (
        f"NOT EXISTS (SELECT 1 FROM retractions r WHERE r.agency_id = {alias}.{agency}"
        f" AND r.target_event_id = {alias}.event_id AND r.recorded_at <= {basis.moment})"
    )


def rows(table: str, basis: Basis) -> str:
    """The rows of a fact table that count (entities: every live registration)."""
    key = KEYED.get(table)
    if basis.live:
        return f"(SELECT * FROM {table} WHERE NOT {'superseded' if key else 'retracted'})"
    seen = (
        f"SELECT * FROM {table} f WHERE f.recorded_at <= {basis.moment}"
        f" AND {_unretracted(basis, 'f')}"
    )
    if key is None:
        return f"({seen})"
    a, b = key
    return f"(SELECT DISTINCT ON ({a}, {b}) * FROM ({seen}) f ORDER BY {a}, {b}, {NEWEST})"


def agency_registrations(basis: Basis) -> str:
    """Agencies' live registrations, as shared/regions.py keeps them."""
    if basis.live:
        return "(SELECT * FROM agency_registrations WHERE NOT retracted)"
    return (
        f"(SELECT * FROM agency_registrations g WHERE g.recorded_at <= {basis.moment}"
        f" AND {_unretracted(basis, 'g', 'event_agency')})"
    )


def _periods(source: str, key: str, columns: str, day: str, tail: str) -> str:
    """Each state of an entity with the days it holds (see the module's rule)."""
    return f"""(SELECT {key}, {columns}, first_on,
       CASE WHEN lag(day) OVER w IS NULL THEN '-infinity'::date ELSE day END AS valid_from,
       coalesce(lead(day) OVER w - 1, 'infinity'::date) AS valid_to
FROM (SELECT DISTINCT ON ({key}, day) {key}, {columns}, day,
             min(day) OVER (PARTITION BY {key}) AS first_on
      FROM (SELECT *, {day} AS day FROM {source} s) s
      ORDER BY {key}, day, occurred_at DESC, recorded_at DESC, {tail}) d
WINDOW w AS (PARTITION BY {key} ORDER BY day))"""


def agency_periods(basis: Basis) -> str:
    """agency_id, region_code, role, registered_on, incubated_by, first_on, valid_from,
    valid_to: where an agency was, and as what, on which days; and the registration that
    says so (event_agency, event_id, occurred_at, recorded_at: what explain lists)."""
    return _periods(
        agency_registrations(basis),
        "agency_id",
        "region_code, role, registered_on, incubated_by, event_agency, event_id, occurred_at,"
        " recorded_at",
        CHINA_DAY.format(col="occurred_at"),
        "event_agency DESC, event_id DESC",
    )


def client_periods(basis: Basis) -> str:
    """agency_id, client_id, project_id, in_difficulty, first_on, valid_from, valid_to; and
    the registration that says so (event_id, occurred_at, recorded_at)."""
    return _periods(
        rows("client_facts", basis),
        "agency_id, client_id",
        "project_id, in_difficulty, event_id, occurred_at, recorded_at",
        "registered_on",
        "agency_id DESC, event_id DESC",
    )


def worker_licences(basis: Basis) -> str:
    """worker_agency, worker_id, first_on, licensed: each worker registered by `$3` with
    whether it held a licence on `$3`. The licence on a day is the newest statement made
    by then (its registration from the day it occurred, a certification from
    `obtained_on`, `none` included), unless a revocation of that very licence came after
    it (`revoked_on` by the day). The statement in force is named too (event_agency,
    event_id, occurred_at, recorded_at, type): what explain lists for a licensed worker."""
    workers = rows("worker_facts", basis)
    certifications = rows("certification_facts", basis)
    revocations = rows("revocation_facts", basis)
    return f"""(SELECT w.worker_agency, w.worker_id, w.first_on,
       s.licence <> 'none' AND NOT EXISTS (
           SELECT 1 FROM {revocations} r
           WHERE r.agency_id = s.worker_agency AND r.worker_id = s.worker_id
             AND r.licence = s.licence AND r.revoked_on <= $3
             AND (r.revoked_on, r.occurred_at, r.recorded_at, r.agency_id, r.event_id)
                 > (s.day, s.occurred_at, s.recorded_at, s.agency_id, s.event_id)) AS licensed,
       s.agency_id AS event_agency, s.event_id, s.occurred_at, s.recorded_at, s.type
FROM (SELECT worker_agency, worker_id, min(registered_on) AS first_on FROM {workers} x
      GROUP BY worker_agency, worker_id) w
CROSS JOIN LATERAL (
    -- The newest of each kind, then the newer of the two: one index range read each
    -- (migration 022) for the workers in scope, not a sort of every worker's statements.
    SELECT * FROM (
        (SELECT worker_agency, worker_id, licence, registered_on AS day, occurred_at,
                recorded_at, agency_id, event_id, 'worker-registered' AS type
         FROM {workers} x
         WHERE x.worker_agency = w.worker_agency AND x.worker_id = w.worker_id
           AND x.registered_on <= $3
         ORDER BY registered_on DESC, {NEWEST} LIMIT 1)
        UNION ALL
        (SELECT agency_id, worker_id, licence, obtained_on, occurred_at, recorded_at,
                agency_id, event_id, 'certification-obtained'
         FROM {certifications} c
         WHERE c.agency_id = w.worker_agency AND c.worker_id = w.worker_id
           AND c.obtained_on <= $3
         ORDER BY obtained_on DESC, {NEWEST} LIMIT 1)) t
    ORDER BY day DESC, {NEWEST} LIMIT 1) s)"""


def _current(table: str, key: str, columns: str, basis: Basis) -> str:
    """An entity's newest live registration (whatever its day)."""
    return (
        f"(SELECT DISTINCT ON ({key}) {columns} FROM {rows(table, basis)} x"
        f" ORDER BY {key}, {NEWEST})"
    )


# The facts' relations by name.
FLOWS = {
    "visits": "visit_facts",
    "activities": "activity_facts",
    "trainings": "training_facts",
    "dispatches": "dispatch_facts",
    "milestones": "milestone_facts",
    "slots": "slot_facts",
}


def relations(basis: Basis) -> dict[str, str]:
    """The named relations a summary's SQL may use ({name} in its text)."""
    if basis.live:
        current = {
            "current_agencies": "current_agencies",
            "current_pairings": "current_pairings",
            "current_projects": "current_projects",
        }
    else:
        current = {
            "current_agencies": (
                "(SELECT agency_id, region_code, role, registered_on, incubated_by"
                f" FROM {agency_periods(basis)} p WHERE valid_to = 'infinity')"
            ),
            "current_pairings": _current(
                "pairing_facts",
                "pairing_id",
                "pairing_id, assisting_agency_id, assisted_agency_id, starts_on, ends_on,"
                " staff_days_per_year, agencies_to_incubate, projects_to_undertake",
                basis,
            ),
            "current_projects": _current(
                "project_facts",
                "project_id",
                "project_id, project_agency AS agency_id, pairing_id, starts_on",
                basis,
            ),
        }
    return {
        **current,
        "agency_periods": agency_periods(basis),
        "client_periods": client_periods(basis),
        "worker_licences": worker_licences(basis),
        **{name: rows(table, basis) for name, table in FLOWS.items()},
    }
