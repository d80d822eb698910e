"""Hypothesis strategies for event histories (SPEC 3.2, 3.6): registrations and
re-registrations (region moves, role changes), pairings, workers and their certifications,
projects, clients changing difficulty and project, visits and the other facts with
corrections (same business key, new event id), and retractions of any of them, arriving
in any order with repeats, cut into the requests a frontend would post.

Every id and region of one history lives in its own `Names`, so the examples of a test can
share one stack without ever meeting: ids are few enough to collide inside a history (that
is what makes re-registrations and corrections), never across histories.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

CST = timezone(timedelta(hours=8))
FIRST_DAY, LAST_DAY = date(2018, 1, 1), date(2023, 12, 31)  # all before reporting's today

# Three agencies: 0 assists 1 (pairing 0) and 2 (pairing 1); 2 was incubated by pairing 0.
AGENCIES = 3
PAIRING_SIDES = ((0, 1), (0, 2))
PROJECT_OWNERS = ((1, 0), (2, 1), (0, None))  # (agency, pairing it is started under)
ROLES = ("assisting", "assisted", "community")


@dataclass(frozen=True)
class Names:
    """One history's ids: `tag` starts every id, every region is inside `prefix`."""

    tag: str
    prefix: str  # a prefecture (4 digits): `reconcile --region prefix` sees only this history

    def agency(self, i: int) -> str:
        return f"{self.tag}-a{i}"

    def region(self, i: int) -> str:
        """Two counties and a community (12 digits) of the first one."""
        return self.prefix + ("01", "02", "01001001")[i]

    def pairing(self, i: int) -> str:
        return f"{self.tag}-p{i}"

    def project(self, i: int) -> str:
        return f"{self.tag}-j{i}"

    def ident(self, kind: str, i: int) -> str:
        return f"{self.tag}-{kind}{i}"


_issued = itertools.count()


def fresh_names() -> Names:
    """Names no earlier history of this process used."""
    n = next(_issued)
    return Names(tag=f"h{n}", prefix=f"{1101 + n:04d}")


@dataclass
class History:
    """What a frontend sends: requests (lists of envelopes) in order. `events` is every
    distinct event, `retracted` the ids some retraction targets."""

    requests: list[list[dict[str, Any]]]
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(len(r) for r in self.requests)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.events:
            counts[e["type"]] = counts.get(e["type"], 0) + 1
        return counts


days = st.dates(FIRST_DAY, LAST_DAY)
# A few shared instants, so that registrations sometimes have the same occurred_at (the
# later replaces the earlier, SPEC 3.6), and any instant of the period otherwise.
_SHARED = [datetime(2019, 5, 1, 9, tzinfo=CST), datetime(2020, 1, 1, tzinfo=CST)]
moments = st.one_of(
    st.sampled_from(_SHARED),
    st.builds(
        lambda d, h, utc: datetime.combine(d, time(h, 30), UTC if utc else CST),
        days,
        st.integers(0, 23),
        st.booleans(),
    ),
)


def _pairing_side(draw: st.DrawFn) -> tuple[int, int]:
    """A pairing and one of its two sides (the sender of its facts)."""
    p = draw(st.integers(0, len(PAIRING_SIDES) - 1))
    return p, draw(st.sampled_from(PAIRING_SIDES[p]))


def _agency_registered(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    i = draw(st.integers(0, AGENCIES - 1))
    incubated = draw(st.sampled_from([None, 0, 1])) if i == 2 else None
    return i, {
        "agency_id": n.agency(i),
        "name": f"Agency {i}",
        "region_code": n.region(draw(st.integers(0, 2))),  # a move, sometimes
        "role": draw(st.sampled_from([ROLES[min(i, 1)], *ROLES])),  # a role change, sometimes
        "registered_on": draw(days).isoformat(),
        "incubated_by_pairing_id": None if incubated is None else n.pairing(incubated),
    }


def _pairing_established(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    p = draw(st.integers(0, len(PAIRING_SIDES) - 1))
    assisting, assisted = PAIRING_SIDES[p]
    starts = draw(days)
    ends = draw(st.one_of(st.none(), st.dates(starts, date(2025, 12, 31))))
    return assisting, {
        "pairing_id": n.pairing(p),
        "assisting_agency_id": n.agency(assisting),
        "assisted_agency_id": n.agency(assisted),
        "starts_on": starts.isoformat(),
        "ends_on": ends.isoformat() if ends else None,
        "targets": {
            "staff_days_per_year": draw(st.integers(0, 60)),
            "agencies_to_incubate": 1,
            "projects_to_undertake": 1,
        },
    }


def _worker_registered(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    i = draw(st.integers(0, AGENCIES - 1))
    return i, {
        "worker_id": n.ident("w", draw(st.integers(0, 2))),
        "agency_id": n.agency(i),
        "role": draw(st.sampled_from(["social-worker", "volunteer", "manager"])),
        "licence": draw(st.sampled_from(["none", "none", "assistant", "senior"])),
        "languages": ["zh"],
    }


def _certification_obtained(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    return draw(st.integers(0, AGENCIES - 1)), {
        "worker_id": n.ident("w", draw(st.integers(0, 2))),
        "licence": draw(st.sampled_from(["none", "assistant", "intermediate"])),
        "obtained_on": draw(days).isoformat(),
    }


def _certification_revoked(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    return draw(st.integers(0, AGENCIES - 1)), {
        "worker_id": n.ident("w", draw(st.integers(0, 2))),
        "licence": draw(st.sampled_from(["assistant", "intermediate", "senior"])),
        "revoked_on": draw(days).isoformat(),
        "reason": "licence not renewed",
    }


def _project_started(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    j = draw(st.integers(0, len(PROJECT_OWNERS) - 1))
    owner, pairing = PROJECT_OWNERS[j]
    under = draw(st.sampled_from([pairing, None]))
    return owner, {
        "project_id": n.project(j),
        "agency_id": n.agency(owner),
        "pairing_id": None if under is None else n.pairing(under),
        "name": f"Project {j}",
        "target_group": "elderly",
        "starts_on": draw(days).isoformat(),
    }


def _own_project(draw: st.DrawFn, n: Names, agency: int) -> str | None:
    owned = [n.project(j) for j, (a, _) in enumerate(PROJECT_OWNERS) if a == agency]
    return draw(st.sampled_from([None, *owned]))


def _client_registered(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    i = draw(st.integers(0, AGENCIES - 1))
    return i, {
        "client_id": n.ident("c", draw(st.integers(0, 2))),
        "project_id": _own_project(draw, n, i),  # a project change, sometimes
        "name": "Client",
        "birth_year": 1940,
        "sex": "female",
        "ethnicity": "korean",
        "circumstances": ["left-behind"],
        "in_difficulty": draw(st.booleans()),
    }


def _visit_logged(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    i = draw(st.integers(0, AGENCIES - 1))
    # Assisting staff visit the assisted side's clients (SPEC 3.6), and the other way.
    partners = {a for sides in PAIRING_SIDES if i in sides for a in sides if a != i}
    client_agency = draw(st.sampled_from([None, None, *sorted(partners)]))
    return i, {
        "visit_id": n.ident("v", draw(st.integers(0, 3))),
        "client_id": n.ident("c", draw(st.integers(0, 2))),
        "worker_id": n.ident("w", draw(st.integers(0, 2))),
        "service": draw(st.sampled_from(["home-care", "health-check", "home-medication"])),
        "started_at": draw(moments).isoformat(),
        "duration_min": draw(st.integers(1, 240)),
        "client_agency_id": None if client_agency is None else n.agency(client_agency),
    }


def _activity_held(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    i = draw(st.integers(0, AGENCIES - 1))
    return i, {
        "activity_id": n.ident("t", draw(st.integers(0, 2))),
        "project_id": _own_project(draw, n, i),
        "kind": draw(st.sampled_from(["health-lecture", "group-activity"])),
        "title": "Activity",
        "held_on": draw(days).isoformat(),
        "attendees": draw(st.integers(0, 50)),
    }


def _training_completed(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    p, sender = _pairing_side(draw)
    return sender, {
        "training_id": n.ident("g", draw(st.integers(0, 2))),
        "pairing_id": n.pairing(p),
        "kind": draw(st.sampled_from(["supervision", "exam-coaching"])),
        "held_on": draw(days).isoformat(),
        "hours": draw(st.sampled_from([1, 1.5, 1.333, 2.25])),
        "trainer_agency_id": n.agency(sender),
        "attendee_worker_ids": [
            n.ident("w", w) for w in draw(st.lists(st.integers(0, 2), max_size=3))
        ],
    }


def _staff_dispatched(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    p, sender = _pairing_side(draw)
    start = draw(days)
    return sender, {
        "dispatch_id": n.ident("d", draw(st.integers(0, 2))),
        "pairing_id": n.pairing(p),
        "worker_id": n.ident("w", draw(st.integers(0, 2))),
        "from_date": start.isoformat(),
        "to_date": (start + timedelta(days=draw(st.integers(0, 20)))).isoformat(),
    }


def _milestone_reached(draw: st.DrawFn, n: Names) -> tuple[int, dict[str, Any]]:
    p, sender = _pairing_side(draw)
    return sender, {
        "pairing_id": n.pairing(p),
        "milestone": draw(st.sampled_from(["systems-established", "methods-mastered"])),
        "reached_on": draw(days).isoformat(),
    }


Payload = Callable[[st.DrawFn, Names], tuple[int, dict[str, Any]]]
# Each type with its weight in a history (facts about people are the most common).
KINDS: dict[str, tuple[Payload, int]] = {
    "agency-registered": (_agency_registered, 3),
    "pairing-established": (_pairing_established, 2),
    "worker-registered": (_worker_registered, 2),
    "certification-obtained": (_certification_obtained, 2),
    "certification-revoked": (_certification_revoked, 1),
    "project-started": (_project_started, 1),
    "client-registered": (_client_registered, 2),
    "visit-logged": (_visit_logged, 4),
    "activity-held": (_activity_held, 1),
    "training-completed": (_training_completed, 1),
    "staff-dispatched": (_staff_dispatched, 1),
    "milestone-reached": (_milestone_reached, 1),
}


@st.composite
def event(draw: st.DrawFn, n: Names, number: int) -> dict[str, Any]:
    """One event of any type, with event id `number` of the history."""
    kind = draw(st.sampled_from([k for k, (_, weight) in KINDS.items() for _ in range(weight)]))
    sender, payload = KINDS[kind][0](draw, n)
    return envelope(n, number, kind, sender, draw(moments), payload)


def envelope(
    n: Names, number: int, kind: str, sender: int, at: datetime, payload: dict[str, Any]
) -> dict[str, Any]:
    return {
        "event_id": n.ident("e", number),
        "type": kind,
        "schema_version": 1,
        "agency_id": n.agency(sender),
        "occurred_at": at.isoformat(),
        "payload": payload,
    }


def retraction(n: Names, number: int, target: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Sent for the target's agency (retractions are not retractable: never a target)."""
    return {
        "event_id": n.ident("e", number),
        "type": "event-retracted",
        "schema_version": 1,
        "agency_id": target["agency_id"],
        "occurred_at": at.isoformat(),
        "payload": {"target_event_id": target["event_id"], "reason": "entered by mistake"},
    }


@st.composite
def histories(
    draw: st.DrawFn, n: Names, min_size: int = 15, max_size: int = 45, most_requests: int = 6
) -> History:
    """Events, retractions of some of them (arriving before or after their targets),
    repeats of any (the same event id resent), shuffled and cut into requests."""
    size = draw(st.integers(min_size, max_size))
    events = [draw(event(n, i)) for i in range(size)]
    targets = draw(
        st.lists(st.sampled_from(events), max_size=size // 4, unique_by=lambda e: e["event_id"])
    )
    events += [retraction(n, size + i, t, draw(moments)) for i, t in enumerate(targets)]
    repeats = draw(st.lists(st.sampled_from(events), max_size=size // 5))
    order = draw(st.permutations(events + repeats))
    if draw(st.booleans()):
        # Intake refuses an incubated agency's registration and a visit to a partner's
        # client until it knows their pairing: half of the histories establish pairings
        # first, so that those are counted too.
        order.sort(key=lambda e: e["type"] != "pairing-established")
    cuts = draw(st.sets(st.integers(1, len(order) - 1), max_size=most_requests - 1))
    bounds = [0, *sorted(cuts), len(order)]
    return History([order[a:b] for a, b in itertools.pairwise(bounds)], events)
