"""The seeded workload: agencies in several regions and the batches their frontends send.

Every event gets a fresh id, so each one's effect can be found (or missed, or doubled) in
every store by its key (agency_id, event_id). About 10% are sent again later (duplicates)
and a few are invalid on purpose (intake must reject them and nothing may change).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

Channel = Literal["http", "nats"]
Event = dict[str, Any]


@dataclass(frozen=True)
class Agency:
    agency_id: str
    region_code: str
    role: str


AGENCIES = (
    Agency("cc-lanxing", "220102", "assisting"),
    Agency("lj-wenhua", "222405", "assisted"),
    Agency("lj-yanghua", "222405", "assisted"),
    Agency("yb-dunhua", "222403", "assisted"),
    Agency("gz-tianhe", "440106", "assisting"),
    Agency("qdn-kaili", "522601", "assisted"),
)
# Region prefixes the report is compared at (None: every agency).
REPORT_SCOPES: tuple[str | None, ...] = (None, "22", "2224", "222405", "44", "52")

SERVICES = ("home-medication", "psychological-comfort", "proxy-shopping", "home-care", "other")
TYPE_WEIGHTS = {
    "visit-logged": 60,
    "client-registered": 14,
    "worker-registered": 8,
    "activity-held": 8,
    "staff-dispatched": 6,
    "training-completed": 4,
}
INVALID_SHARE = 0.005
DUPLICATE_SHARE = 0.10


@dataclass
class Batch:
    """One request: an HTTP POST of an agency's events, or a NATS request on
    intake.<agency>.<type> holding events of that one type."""

    channel: Channel
    agency_id: str
    events: list[Event]
    repeat: bool = False  # re-sends of events already in earlier batches
    event_type: str | None = None  # for NATS


@dataclass
class Workload:
    setup: list[Event]
    batches: list[Batch] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        """Every distinct event of the main traffic, in order of first appearance."""
        seen: dict[tuple[str, str], Event] = {}
        for b in self.batches:
            for e in b.events:
                seen.setdefault((e["agency_id"], e["event_id"]), e)
        return list(seen.values())


def envelope(n: int, agency_id: str, event_type: str, on: date, payload: Event) -> Event:
    return {
        "event_id": f"ev-{n:07d}",
        "type": event_type,
        "schema_version": 1,
        "agency_id": agency_id,
        "occurred_at": f"{on.isoformat()}T10:00:00+08:00",
        "payload": payload,
    }


def registrations() -> list[Event]:
    return [
        {
            **envelope(i, a.agency_id, "agency-registered", date(2023, 1, 1), {}),
            "event_id": f"reg-{a.agency_id}",
            "payload": {
                "agency_id": a.agency_id,
                "name": f"Agency {a.agency_id}",
                "region_code": a.region_code,
                "role": a.role,
                "registered_on": "2023-01-01",
            },
        }
        for i, a in enumerate(AGENCIES)
    ]


class EventMaker:
    """Events of one type for one agency, with ids from one running counter."""

    def __init__(self, rng: random.Random):
        self.rng, self.n = rng, 0
        self.clients: dict[str, int] = {a.agency_id: 0 for a in AGENCIES}

    def make(self, agency_id: str, event_type: str) -> Event:
        self.n += 1
        rng, n = self.rng, self.n
        on = date(2024, 1, 1) + timedelta(days=rng.randint(0, 360))
        payload: Event
        if event_type == "visit-logged":
            client = rng.randint(1, max(1, self.clients[agency_id] + 5))
            started = f"{on.isoformat()}T{rng.randint(8, 17):02d}:30:00+08:00"
            if rng.random() < INVALID_SHARE:
                started = started[:-6]  # a naive timestamp: intake must reject it
            payload = {
                "visit_id": f"v-{n}",
                "client_id": f"c-{client}",
                "worker_id": f"w-{rng.randint(1, 40)}",
                "service": rng.choice(SERVICES),
                "started_at": started,
                "duration_min": rng.randint(10, 120),
            }
        elif event_type == "client-registered":
            self.clients[agency_id] += 1
            payload = {
                "client_id": f"c-{self.clients[agency_id]}",
                "name": "金顺姬",
                "birth_year": rng.randint(1930, 1960),
                "sex": rng.choice(("female", "male")),
                "ethnicity": rng.choice(("korean", "han")),
                "circumstances": ["left-behind"],
                "in_difficulty": rng.random() < 0.4,
            }
        elif event_type == "worker-registered":
            payload = {
                "worker_id": f"wk-{n}",
                "agency_id": agency_id,
                "role": "social-worker",
                "licence": rng.choice(("none", "assistant", "intermediate")),
                "languages": ["zh", "ko"],
            }
        elif event_type == "activity-held":
            payload = {
                "activity_id": f"a-{n}",
                "kind": rng.choice(("health-lecture", "group-activity", "community-event")),
                "title": "健康讲座",
                "held_on": on.isoformat(),
                "attendees": rng.randint(5, 60),
            }
        elif event_type == "staff-dispatched":
            payload = {
                "dispatch_id": f"d-{n}",
                "pairing_id": f"p-{agency_id}",
                "worker_id": f"w-{rng.randint(1, 40)}",
                "from_date": on.isoformat(),
                "to_date": (on + timedelta(days=rng.randint(0, 4))).isoformat(),
            }
        else:
            payload = {
                "training_id": f"t-{n}",
                "pairing_id": f"p-{agency_id}",
                "kind": rng.choice(("thematic-training", "supervision", "exam-coaching")),
                "held_on": on.isoformat(),
                "hours": rng.randint(1, 8),
                "trainer_agency_id": agency_id,
                "attendee_worker_ids": [f"w-{rng.randint(1, 40)}" for _ in range(3)],
            }
        return envelope(n, agency_id, event_type, on, payload)

    def random_type(self) -> str:
        return self.rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()))[0]


def build(total: int, seed: int, http_share: float = 0.6) -> Workload:
    """`total` fresh events in HTTP batches (100-400 events) and NATS requests (1-40 events
    of one type), plus duplicate batches re-sending 10% of them a little later."""
    rng = random.Random(seed)
    maker = EventMaker(rng)
    work = Workload(setup=registrations())
    while maker.n < total:
        agency = rng.choice(AGENCIES).agency_id
        if rng.random() < http_share:
            size = min(rng.randint(100, 400), total - maker.n)
            events = [maker.make(agency, maker.random_type()) for _ in range(size)]
            work.batches.append(Batch("http", agency, events))
        else:
            kind = maker.random_type()
            size = min(rng.randint(1, 40), total - maker.n)
            events = [maker.make(agency, kind) for _ in range(size)]
            work.batches.append(Batch("nats", agency, events, event_type=kind))
    _add_duplicates(work, rng)
    return work


def _add_duplicates(work: Workload, rng: random.Random) -> None:
    """Re-send 10% of the events a few batches after their first sending, grouped per
    agency into one request (over NATS when the group holds one type)."""
    last = len(work.batches) - 1
    later: dict[tuple[int, str], list[Event]] = {}
    for i, batch in enumerate(work.batches):
        for e in batch.events:
            if rng.random() < DUPLICATE_SHARE:
                at = i + rng.randint(2, 30)
                at = at if at <= last else rng.randint(i, last)  # no pile-up at the end
                later.setdefault((at, e["agency_id"]), []).append(e)
    for (at, agency), events in sorted(later.items(), key=lambda kv: -kv[0][0]):
        kinds = {e["type"] for e in events}
        channel: Channel = "nats" if len(kinds) == 1 and rng.random() < 0.5 else "http"
        kind = next(iter(kinds)) if channel == "nats" else None
        work.batches.insert(at + 1, Batch(channel, agency, events, repeat=True, event_type=kind))
