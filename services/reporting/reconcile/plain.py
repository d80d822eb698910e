"""Every KPI of SPEC 3.5 recomputed from the events themselves, in plain Python.

A second implementation on purpose: no SQL, no rollups, no code shared with reporting's
projections or queries; lists and loops over the whole history for every figure. Simple
rather than fast. It reads the contract (shared/events.py) and nothing else.

The rules (what a figure counts, what a retraction does, which attributes are taken as of
which day) are written once in docs/kpis.md. The SPEC 3.6 rules of business identity are switches in `Rules` (all on in
`SPEC`, which reporting implements: `IMPLEMENTED` is the same), so a test can show what
each one changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from shared.events import SERVICES, Canonical

CHINA = timezone(timedelta(hours=8))  # China has kept UTC+8 since 1991
Agencies = frozenset[str] | None  # None: every agency


@dataclass(frozen=True)
class Rules:
    """SPEC 3.6 rules that reporting may not implement yet (see module doc)."""

    # Facts with the same business key are one fact: the newest occurred_at wins.
    business_keys: bool = False
    # Staff-days count each (pairing, worker, day) once, however dispatches overlap.
    distinct_staff_days: bool = False
    # A visit's client is (client_agency_id or the sender, client_id).
    client_agency: bool = False


SPEC = Rules(business_keys=True, distinct_staff_days=True, client_agency=True)
IMPLEMENTED = SPEC


def day_in_china(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def hundredths(hours: float) -> Decimal:
    """Training hours are kept to the hundredth of an hour, halves rounded up."""
    return Decimal(str(hours)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Scope:
    """One figure's scope: None means not narrowed by that dimension."""

    region: str | None = None
    agency: str | None = None
    pairing: str | None = None
    project: str | None = None
    start: date | None = None
    end: date | None = None


def _p(e: Canonical) -> Any:
    """An event's payload, whatever its type (the loops below know which type they hold)."""
    return e.payload


def _newest(events: list[Canonical]) -> Canonical:
    """The newest by occurred_at, then by when intake recorded it (the same occurred_at
    again replaces), then by event key."""
    return max(events, key=lambda e: (e.occurred_at, e.recorded_at, e.agency_id, e.event_id))


class History:
    """The events reporting consumes, each counted once, retracted ones dropped."""

    def __init__(
        self,
        events: Iterable[Canonical],
        rules: Rules = IMPLEMENTED,
        as_of: datetime | None = None,
    ) -> None:
        """`as_of`: only the events intake had recorded by then (SPEC 3.7)."""
        self.rules = rules
        self.as_of = as_of
        seen: set[tuple[str, str]] = set()
        unique: list[Canonical] = []
        for e in events:  # the first of an (agency, event id) counts, as delivered
            if as_of is not None and e.recorded_at > as_of:
                continue
            if (e.agency_id, e.event_id) not in seen:
                seen.add((e.agency_id, e.event_id))
                unique.append(e)
        self.all = unique
        # A retraction drops its target (an event of the same agency), whenever it arrives.
        retracted = {
            (e.agency_id, _p(e).target_event_id) for e in unique if e.type == "event-retracted"
        }
        self.live = [
            e
            for e in unique
            if e.type != "event-retracted" and (e.agency_id, e.event_id) not in retracted
        ]

    def of(self, event_type: str) -> list[Canonical]:
        if not hasattr(self, "_by_type"):
            self._by_type: dict[str, list[Canonical]] = {}
            for e in self.live:
                self._by_type.setdefault(e.type, []).append(e)
        return self._by_type.get(event_type, [])

    # --- entities: the newest live registration; registered from the first one -----------
    # On a day D, an entity is its newest live registration that happened (China date) on
    # D or before; before its first registration's day, as on that day.

    @staticmethod
    def _on(registrations: list[Canonical], day: date) -> Canonical:
        first = min(day_in_china(e.occurred_at) for e in registrations)
        latest = max(day, first)
        return _newest([e for e in registrations if day_in_china(e.occurred_at) <= latest])

    @cached_property
    def agency_registrations(self) -> dict[str, list[Canonical]]:
        return self._entities("agency-registered", lambda e: _p(e).agency_id)

    def agency_on(self, agency_id: str, day: date) -> Any:
        """The agency's registration payload in force on `day`, or None (never registered)."""
        found = self.agency_registrations.get(agency_id)
        return _p(self._on(found, day)) if found else None

    @cached_property
    def client_registrations(self) -> dict[tuple[str, str], list[Canonical]]:
        return self._entities("client-registered", lambda e: (e.agency_id, _p(e).client_id))

    def client_on(self, client: tuple[str, str], day: date) -> Any:
        """The client's registration payload in force on `day`, or None."""
        found = self.client_registrations.get(client)
        return _p(self._on(found, day)) if found else None

    def first_day(self, registrations: list[Canonical]) -> date:
        return min(day_in_china(e.occurred_at) for e in registrations)

    @cached_property
    def worker_registrations(self) -> dict[tuple[str, str], list[Canonical]]:
        return self._entities("worker-registered", lambda e: (_p(e).agency_id, _p(e).worker_id))

    def licence_on(self, worker: tuple[str, str], day: date) -> str:
        """The worker's licence on `day`: its statements up to that day, one after the
        other: a registration (from the day it happened) and a certification (from
        obtained_on) say which licence it holds, `none` included; a revocation (from
        revoked_on) takes away the licence it names if that is the one held."""
        steps: list[tuple[date, Canonical]] = [
            (day_in_china(e.occurred_at), e) for e in self.worker_registrations.get(worker, [])
        ]
        for e in self.of("certification-obtained"):
            if (e.agency_id, _p(e).worker_id) == worker:
                steps.append((_p(e).obtained_on, e))
        for e in self.of("certification-revoked"):
            if (e.agency_id, _p(e).worker_id) == worker:
                steps.append((_p(e).revoked_on, e))
        steps.sort(key=lambda s: (s[0], s[1].occurred_at, s[1].recorded_at, s[1].agency_id,
                                  s[1].event_id))  # fmt: skip
        held = "none"
        for on, e in steps:
            if on > day:
                break
            if e.type == "certification-revoked":
                held = "none" if held == _p(e).licence else held
            else:
                held = _p(e).licence
        return str(held)

    def _entities(self, event_type: str, key: Any) -> dict[Any, list[Canonical]]:
        groups: dict[Any, list[Canonical]] = {}
        for e in self.of(event_type):
            groups.setdefault(key(e), []).append(e)
        return groups

    @cached_property
    def agencies(self) -> dict[str, Any]:
        return {
            k: _p(_newest(v))
            for k, v in self._entities("agency-registered", lambda e: _p(e).agency_id).items()
        }

    @cached_property
    def pairings(self) -> dict[str, Any]:
        return {
            k: _p(_newest(v))
            for k, v in self._entities("pairing-established", lambda e: _p(e).pairing_id).items()
        }

    @cached_property
    def projects(self) -> dict[str, Any]:
        return {
            k: _p(_newest(v))
            for k, v in self._entities("project-started", lambda e: _p(e).project_id).items()
        }

    # --- facts ----------------------------------------------------------------------------

    def facts(self, event_type: str, business_key: Any) -> list[Canonical]:
        """The live facts of a type; with business keys on, one per key (the newest)."""
        found = self.of(event_type)
        if not self.rules.business_keys:
            return found
        groups: dict[Any, list[Canonical]] = {}
        for e in found:
            groups.setdefault(business_key(e), []).append(e)
        return [_newest(v) for v in groups.values()]

    def visits(self) -> list[Canonical]:
        return self.facts("visit-logged", lambda e: (e.agency_id, _p(e).visit_id))

    def visit_client(self, e: Canonical) -> tuple[str, str]:
        owner = getattr(_p(e), "client_agency_id", None) if self.rules.client_agency else None
        return (owner or e.agency_id, _p(e).client_id)


# --- scopes -------------------------------------------------------------------------------


def members(history: History, pairing_id: str) -> set[str]:
    """A pairing's two sides and the agencies it incubated."""
    out: set[str] = set()
    pairing = history.pairings.get(pairing_id)
    if pairing is not None:
        out |= {pairing.assisting_agency_id, pairing.assisted_agency_id}
        for agency_id, agency in history.agencies.items():  # only a pairing that exists
            if agency.incubated_by_pairing_id == pairing_id:
                out.add(agency_id)
    return out


def sides(history: History, pairing_id: str) -> set[str]:
    pairing = history.pairings.get(pairing_id)
    return set() if pairing is None else {pairing.assisting_agency_id, pairing.assisted_agency_id}


def named_agencies(history: History, scope: Scope) -> Agencies:
    """The agencies the scope names apart from its region (None: every agency)."""
    chosen: set[str] | None = None

    def narrow(found: set[str]) -> None:
        nonlocal chosen
        chosen = found if chosen is None else chosen & found

    if scope.agency:
        narrow({scope.agency})
    if scope.pairing:
        narrow(members(history, scope.pairing))
    if scope.project:
        project = history.projects.get(scope.project)
        narrow({project.agency_id} if project else set())
    return None if chosen is None else frozenset(chosen)


def _in(agency: str, agencies: Agencies) -> bool:
    return agencies is None or agency in agencies


def in_region_on(history: History, region: str | None, agency: str, day: date) -> bool:
    """The agency was in `region` on `day` (by its registration in force then)."""
    if region is None:
        return True
    placed = history.agency_on(agency, day)
    return placed is not None and bool(placed.region_code.startswith(region))


# --- the KPIs -----------------------------------------------------------------------------


def kpis(history: History, scope: Scope, today: date) -> dict[str, Any]:
    """Every figure of SPEC 3.5 for `scope` (an open end runs to `today`)."""
    start = scope.start or date(1900, 1, 1)
    end = scope.end or today
    named = named_agencies(history, scope)
    pairing, project, region = scope.pairing, scope.project, scope.region
    if region is None and named is None:
        region = ""  # the nation: every region, so never an agency with no registration

    def in_period(day: date) -> bool:
        return start <= day <= end

    def on_the_day(agency: str, day: date) -> bool:
        """Flow facts: in scope by the agency's region on the fact's day."""
        return _in(agency, named) and in_region_on(history, region, agency, day)

    def at_end(agency: str) -> bool:
        """Stock figures: in scope as the agency stood on the period's end."""
        return _in(agency, named) and in_region_on(history, region, agency, end)

    told_by = sides(history, pairing) if pairing is not None else set()

    def of_pairing_scope(e: Canonical) -> bool:
        """Trainings, dispatches, milestones: of the pairing (told by one of its sides)
        when the scope names one; else told by a side of their pairing, or by anyone while
        the pairing is unknown."""
        if pairing is not None:
            return bool(_p(e).pairing_id == pairing and e.agency_id in told_by)
        its = history.pairings.get(_p(e).pairing_id)
        return its is None or e.agency_id in (its.assisting_agency_id, its.assisted_agency_id)

    def fact_day(e: Canonical, day: date) -> bool:
        """...placed on `day` by either side of their pairing (the sender's region while
        the pairing is unknown)."""
        if pairing is not None:
            return True
        its = history.pairings.get(_p(e).pairing_id)
        if its is None:
            return on_the_day(e.agency_id, day)
        return on_the_day(its.assisting_agency_id, day) or on_the_day(its.assisted_agency_id, day)

    # A pairing's scope (SPEC 3.6): its own facts, the agencies it incubated (and their
    # workers), and the projects started under it by a member, with their clients,
    # visits and activities; never its sides' other work.
    projects_of_pairing: set[str] | None = None
    if pairing is not None:
        in_pairing = members(history, pairing)
        projects_of_pairing = {
            pid
            for pid, p in history.projects.items()
            if p.pairing_id == pairing and p.agency_id in in_pairing
        }

    def of_projects(project_id: str | None) -> bool:
        return projects_of_pairing is None or project_id in projects_of_pairing

    def client_in_project(client: tuple[str, str], day: date) -> bool:
        """The client was in the scope's project (the pairing's projects) on `day`."""
        if project is None and projects_of_pairing is None:
            return True
        state = history.client_on(client, day)
        if state is None:
            return False
        if projects_of_pairing is not None and state.project_id not in projects_of_pairing:
            return False
        return project is None or state.project_id == project

    # agencies, as they stood on the period's end
    current = {
        a: p
        for a in history.agency_registrations
        if at_end(a) and (p := history.agency_on(a, end)).registered_on <= end
    }
    started = {pid for pid, p in history.pairings.items() if p.starts_on <= end}
    incubated = [  # by a pairing that exists and has started by the end
        p
        for p in current.values()
        if p.incubated_by_pairing_id in started
        and (pairing is None or p.incubated_by_pairing_id == pairing)
    ]
    # pairings: active on some day of the period; an open period ("so far") on its last
    since = scope.start or end
    in_scope = [
        p
        for pid, p in history.pairings.items()
        if (at_end(p.assisting_agency_id) or at_end(p.assisted_agency_id))
        and (pairing is None or pid == pairing)
        and p.starts_on <= end
    ]
    active = [p for p in in_scope if p.ends_on is None or p.ends_on >= since]
    targeted = [p for p in in_scope if p.ends_on is None or p.ends_on >= start]
    # workers registered by the period's end, with their licence on that day
    incubated_by_it = {
        a for a, p in history.agencies.items() if pairing and p.incubated_by_pairing_id == pairing
    }
    workers = [
        w
        for w, regs in history.worker_registrations.items()
        if at_end(w[0])
        and history.first_day(regs) <= end
        and (pairing is None or w[0] in incubated_by_it)
    ]
    licensed = [w for w in workers if history.licence_on(w, end) != "none"]
    # clients registered by the period's end, as they stood then
    registered = [
        (k, state)
        for k, regs in history.client_registrations.items()
        if at_end(k[0])
        and history.first_day(regs) <= end
        and ((state := history.client_on(k, end)) is not None)
        and (project is None or state.project_id == project)
        and of_projects(state.project_id)
    ]
    # visits
    visits = [
        e
        for e in history.visits()
        if in_period(day := day_in_china(_p(e).started_at))
        and on_the_day(e.agency_id, day)
        and client_in_project(history.visit_client(e), day)
    ]
    by_service: dict[str, list[Canonical]] = {}
    for e in visits:
        by_service.setdefault(_p(e).service, []).append(e)
    # activities
    activities = [
        e
        for e in history.facts("activity-held", lambda e: (e.agency_id, _p(e).activity_id))
        if in_period(_p(e).held_on)
        and on_the_day(e.agency_id, _p(e).held_on)
        and (project is None or _p(e).project_id == project)
        and of_projects(_p(e).project_id)
    ]
    activity_kinds = sorted({_p(e).kind for e in activities})
    # trainings
    trainings = [
        e
        for e in history.facts(
            "training-completed", lambda e: (_p(e).pairing_id, _p(e).training_id)
        )
        if of_pairing_scope(e) and in_period(_p(e).held_on) and fact_day(e, _p(e).held_on)
    ]
    training_kinds = sorted({_p(e).kind for e in trainings})
    # dispatches
    dispatches = [
        e
        for e in history.facts("staff-dispatched", lambda e: (_p(e).pairing_id, _p(e).dispatch_id))
        if of_pairing_scope(e)
    ]
    # milestones
    milestones = [
        e
        for e in history.facts("milestone-reached", lambda e: (_p(e).pairing_id, _p(e).milestone))
        if of_pairing_scope(e) and in_period(_p(e).reached_on) and fact_day(e, _p(e).reached_on)
    ]
    milestones.sort(key=lambda e: (_p(e).reached_on, _p(e).pairing_id, _p(e).milestone))
    # slots reported by scheduling
    slots: dict[str, set[str]] = {"visit-scheduled": set(), "visit-overdue": set()}
    for kind, slot_ids in slots.items():
        for e in history.of(kind):
            p = _p(e)
            day = day_in_china(p.window_start if kind == "visit-scheduled" else p.window_end)
            if (
                in_period(day)
                and on_the_day(p.agency_id, day)
                and client_in_project((p.agency_id, p.client_id), day)
            ):
                slot_ids.add(p.slot_id)

    reflected = [e.recorded_at for e in history.all]
    newest = max(reflected) if reflected else None
    if newest is not None and history.as_of is not None:
        newest = min(newest, history.as_of)
    return {
        "agencies": {
            "assisting": sum(1 for p in current.values() if p.role == "assisting"),
            "assisted": sum(1 for p in current.values() if p.role == "assisted"),
            "incubated": len(incubated),
        },
        "pairings_active": len(active),
        "workers_total": len(workers),
        "workers_licensed": len(licensed),
        "licensed_rate": round(len(licensed) / len(workers), 4) if workers else None,
        "clients_registered": len(registered),
        "clients_in_difficulty": sum(1 for _, v in registered if v.in_difficulty),
        "clients_served": len({history.visit_client(e) for e in visits}),
        "clients_served_by_service": {
            s: len({history.visit_client(e) for e in by_service[s]})
            for s in SERVICES
            if s in by_service
        },
        "visits_by_service": {s: len(by_service[s]) for s in SERVICES if s in by_service},
        "visit_minutes": sum(_p(e).duration_min for e in visits),
        "activities_by_kind": {
            k: sum(1 for e in activities if _p(e).kind == k) for k in activity_kinds
        },
        "activity_attendance_by_kind": {
            k: sum(_p(e).attendees for e in activities if _p(e).kind == k) for k in activity_kinds
        },
        "trainings_by_kind": {
            k: sum(1 for e in trainings if _p(e).kind == k) for k in training_kinds
        },
        "training_attendances": sum(len(set(_p(e).attendee_worker_ids)) for e in trainings),
        "training_hours": float(sum((hundredths(_p(e).hours) for e in trainings), Decimal(0))),
        "staff_days_dispatched": staff_days(dispatches, start, end, history.rules, fact_day),
        "staff_days_target": round(
            sum(
                pairing_target(p.starts_on, p.ends_on, p.targets.staff_days_per_year, start, end)
                for p in targeted
            ),
            1,
        ),
        "milestones": [
            {
                "pairing_id": _p(e).pairing_id,
                "milestone": _p(e).milestone,
                "reached_on": _p(e).reached_on.isoformat(),
            }
            for e in milestones
        ],
        "visits_scheduled": len(slots["visit-scheduled"]),
        "visits_overdue": len(slots["visit-overdue"]),
        "as_of": newest,
    }


def staff_days(
    dispatches: list[Canonical],
    start: date,
    end: date,
    rules: Rules,
    counts: Callable[[Canonical, date], bool] = lambda e, day: True,
) -> int:
    """Days of dispatch inside [start, end] that `counts`, counted day by day."""
    days: list[tuple[str, str, date]] = []
    for e in dispatches:
        p = _p(e)
        day = max(p.from_date, start)
        while day <= min(p.to_date, end):
            if counts(e, day):
                days.append((p.pairing_id, p.worker_id, day))
            day += timedelta(days=1)
    return len(set(days)) if rules.distinct_staff_days else len(days)


def _same_day_years_later(day: date, years: int) -> date:
    if day.month == 2 and day.day == 29:
        leap = (day.year + years) % 4 == 0 and (
            (day.year + years) % 100 != 0 or (day.year + years) % 400 == 0
        )
        if not leap:
            return date(day.year + years, 2, 28)
    return date(day.year + years, day.month, day.day)


def _accruing(first: date, last: date) -> int:
    """Days of [first, last] other than 29 February, counted one by one."""
    count, day = 0, first
    while day <= last:
        if (day.month, day.day) != (2, 29):
            count += 1
        day += timedelta(days=1)
    return count


def pairing_target(
    starts_on: date, ends_on: date | None, per_year: int, start: date, end: date
) -> float:
    """A pairing's staff-days target over [start, end]. Programme year n runs from the
    start plus n-1 years to the day before the next, cut at ends_on; a cut year's target is
    the yearly one prorated by its days over the full year's, rounded to whole staff-days
    (days other than 29 February: every year from a day to the day before its anniversary
    has 365 of them); the period gets each year's target in the share of that year's days
    (other than 29 February) it covers."""
    total = 0.0
    n = 0
    while True:
        first = _same_day_years_later(starts_on, n)
        if first > end or (ends_on is not None and first > ends_on):
            return total
        last = _same_day_years_later(starts_on, n + 1) - timedelta(days=1)
        if ends_on is not None and ends_on < last:
            last = ends_on
        full = _accruing(first, _same_day_years_later(first, 1) - timedelta(days=1))
        target = round(per_year * min(_accruing(first, last), full) / full)
        covered = _accruing(max(first, start), min(last, end))
        if covered:
            total += target * covered / _accruing(first, last)
        n += 1
