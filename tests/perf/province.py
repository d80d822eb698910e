"""A synthetic province for the benchmark: deterministic (seeded) and valid per shared/events.py.

Jilin (22) with ten counties in four prefectures; five agencies a county. The developed
counties (Changchun, Jilin City) hold the assisting agencies, Yanbian's counties the
assisted ones; each assisted agency is paired with an assisting one. The registry
(agencies, pairings, workers, projects, clients) comes first, then what happens in a
programme: visits above all, lectures, trainings, staff dispatches, certifications and
milestones.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shared.events import SERVICES, TRAINING_KINDS

Event = dict[str, Any]

COUNTIES = (
    "220102",  # Nanguan, Changchun
    "220104",  # Chaoyang, Changchun
    "220203",  # Longtan, Jilin City
    "220204",  # Chuanying, Jilin City
    "222401",  # Yanji, Yanbian
    "222402",  # Tumen
    "222403",  # Dunhua
    "222404",  # Hunchun
    "222405",  # Longjing
    "222406",  # Helong
)
DEVELOPED = 4  # the first four counties assist, Yanbian's six are assisted
TRAININGS = TRAINING_KINDS
ACTIVITIES = ("health-lecture", "group-activity", "community-event")
CIRCUMSTANCES = ("living-alone", "left-behind", "disabled", "low-income", "chronic-illness")
MILESTONES = ("agency-registered", "systems-established", "project-undertaken", "methods-mastered")
FIRST_DAY = date(2019, 5, 1)
DAYS = 6 * 365
# What a programme's events are made of, after the registry (cumulative weights).
ACTIVITY_MIX = (
    ("visit-logged", 0.85),
    ("activity-held", 0.90),
    ("training-completed", 0.94),
    ("staff-dispatched", 0.98),
    ("certification-obtained", 0.995),
    ("milestone-reached", 1.0),
)


@dataclass
class Agency:
    agency_id: str
    region_code: str
    role: str
    workers: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    pairing_id: str | None = None
    project_id: str | None = None


@dataclass
class Province:
    """The agencies and pairings of a generated province (for tokens and report scopes)."""

    agencies: list[Agency]
    pairings: dict[str, tuple[str, str]]  # pairing_id -> (assisting, assisted)

    @property
    def clients_total(self) -> int:
        return sum(len(a.clients) for a in self.agencies)

    def region_of(self, agency_id: str) -> str:
        return self._regions[agency_id]

    def __post_init__(self) -> None:
        self._regions = {a.agency_id: a.region_code for a in self.agencies}


def build(agencies: int = 50, workers_per_agency: int = 10, clients: int = 20_000) -> Province:
    """The province's structure: agencies by county, pairings, worker and client ids."""
    out: list[Agency] = []
    for i in range(agencies):
        county = COUNTIES[i % len(COUNTIES)]
        developed = COUNTIES.index(county) < DEVELOPED
        kind = (
            ("assisting" if developed else "assisted")
            if (i // len(COUNTIES)) % 2 == 0
            else "community"
        )
        out.append(Agency(f"ag{i:03d}", county, kind))
    assisting = [a for a in out if a.role == "assisting"]
    assisted = [a for a in out if a.role == "assisted"]
    pairings: dict[str, tuple[str, str]] = {}
    for j, local in enumerate(assisted):
        helper = assisting[j % len(assisting)]
        pairing = f"jl-{helper.agency_id}-{local.agency_id}"
        pairings[pairing] = (helper.agency_id, local.agency_id)
        local.pairing_id, local.project_id = pairing, f"pj-{local.agency_id}"
        helper.pairing_id = helper.pairing_id or pairing
    for a in out:
        a.workers = [f"{a.agency_id}-w{k:02d}" for k in range(workers_per_agency)]
    served = [a for a in out if a.region_code[:4] == "2224"]
    for c in range(clients):
        owner = served[c % len(served)]
        owner.clients.append(f"{owner.agency_id}-c{c:05d}")
    return Province(out, pairings)


def _day(rng: random.Random) -> date:
    return FIRST_DAY + timedelta(days=rng.randrange(DAYS))


def _at(d: date, rng: random.Random) -> str:
    return f"{d.isoformat()}T{8 + rng.randrange(10):02d}:{rng.randrange(60):02d}:00+08:00"


def _id_number(n: int) -> str:
    body = f"222405{1935 + n % 25}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


class Generator:
    """Yields a province's events; `tag` keeps the ids of separate loads apart."""

    def __init__(self, province: Province, seed: int = 8, tag: str = "e2e"):
        self.province, self.rng, self.tag, self.n = province, random.Random(seed), tag, 0
        self.by_id = {a.agency_id: a for a in province.agencies}

    def _event(self, agency: str, kind: str, occurred: str, payload: dict[str, Any]) -> Event:
        self.n += 1
        return {
            "event_id": f"{self.tag}-{self.n:08d}",
            "type": kind,
            "schema_version": 1,
            "agency_id": agency,
            "occurred_at": occurred,
            "payload": payload,
        }

    def registry(self) -> Iterator[Event]:
        """Agencies, pairings, workers, projects and clients, in the order they arise."""
        p, rng, at = self.province, self.rng, "2019-05-01T09:00:00+08:00"
        for a in p.agencies:
            yield self._event(
                a.agency_id,
                "agency-registered",
                at,
                {
                    "agency_id": a.agency_id,
                    "name": f"Agency {a.agency_id} (社工服务中心)",
                    "region_code": a.region_code,
                    "role": a.role,
                    "registered_on": "2019-05-01",
                },
            )
        for pairing, (helper, local) in p.pairings.items():
            yield self._event(
                helper,
                "pairing-established",
                at,
                {
                    "pairing_id": pairing,
                    "assisting_agency_id": helper,
                    "assisted_agency_id": local,
                    "starts_on": "2019-05-01",
                    "targets": {
                        "staff_days_per_year": 40,
                        "agencies_to_incubate": 1,
                        "projects_to_undertake": 1,
                    },
                },
            )
        for a in p.agencies:
            for w in a.workers:
                yield self._event(
                    a.agency_id,
                    "worker-registered",
                    at,
                    {
                        "worker_id": w,
                        "agency_id": a.agency_id,
                        "role": rng.choice(("social-worker", "social-worker", "volunteer")),
                        "licence": rng.choice(("none", "none", "assistant", "intermediate")),
                        "languages": ["zh", "ko"] if a.region_code[:4] == "2224" else ["zh"],
                    },
                )
            if a.project_id:
                yield self._event(
                    a.agency_id,
                    "project-started",
                    at,
                    {
                        "project_id": a.project_id,
                        "agency_id": a.agency_id,
                        "pairing_id": a.pairing_id,
                        "name": "情暖夕阳 warm sunset",
                        "target_group": "elders in difficulty",
                        "starts_on": "2019-06-01",
                    },
                )
        for a in p.agencies:
            for c in a.clients:
                yield self._event(a.agency_id, "client-registered", at, self._client(a, c))

    def _client(self, a: Agency, client_id: str) -> dict[str, Any]:
        rng = self.rng
        return {
            "client_id": client_id,
            "project_id": a.project_id,
            "name": f"居民{client_id[-5:]}",
            "id_number": _id_number(self.n),
            "phone": f"139{self.n % 100_000_000:08d}",
            "birth_year": 1930 + rng.randrange(30),
            "sex": rng.choice(("female", "male")),
            "ethnicity": rng.choice(("korean", "han")),
            "circumstances": rng.sample(CIRCUMSTANCES, rng.randrange(3)),
            "in_difficulty": rng.random() < 0.4,
        }

    def activity(self) -> Iterator[Event]:
        """What happens in the programmes, for ever (take as many as needed)."""
        rng = self.rng
        serving = [a for a in self.province.agencies if a.clients]
        paired = [a for a in self.province.agencies if a.role == "assisted"]
        while True:
            draw = rng.random()
            kind = next(k for k, w in ACTIVITY_MIX if draw <= w)
            if kind in ("visit-logged", "activity-held"):
                yield self._served(kind, rng.choice(serving))
            else:
                yield self._paired(kind, rng.choice(paired))

    def _served(self, kind: str, a: Agency) -> Event:
        rng, d = self.rng, _day(self.rng)
        at = _at(d, rng)
        if kind == "visit-logged":
            payload: dict[str, Any] = {
                "visit_id": f"v-{self.tag}-{self.n}",
                "client_id": rng.choice(a.clients),
                "worker_id": rng.choice(a.workers),
                "service": rng.choice(SERVICES),
                "started_at": at,
                "duration_min": 15 + rng.randrange(90),
            }
        else:
            payload = {
                "activity_id": f"a-{self.tag}-{self.n}",
                "project_id": a.project_id,
                "kind": rng.choice(ACTIVITIES),
                "title": "健康讲座 health lecture",
                "held_on": d.isoformat(),
                "attendees": 5 + rng.randrange(40),
            }
        return self._event(a.agency_id, kind, at, payload)

    def _paired(self, kind: str, local: Agency) -> Event:
        rng, d = self.rng, _day(self.rng)
        assert local.pairing_id is not None
        helper = self.by_id[self.province.pairings[local.pairing_id][0]]
        at, pairing = _at(d, rng), local.pairing_id
        if kind == "training-completed":
            payload: dict[str, Any] = {
                "training_id": f"t-{self.tag}-{self.n}",
                "pairing_id": pairing,
                "kind": rng.choice(TRAININGS),
                "held_on": d.isoformat(),
                "hours": rng.choice((1.5, 2, 3, 6)),
                "trainer_agency_id": helper.agency_id,
                "attendee_worker_ids": rng.sample(local.workers, min(4, len(local.workers))),
            }
            return self._event(helper.agency_id, kind, at, payload)
        if kind == "staff-dispatched":
            payload = {
                "dispatch_id": f"d-{self.tag}-{self.n}",
                "pairing_id": pairing,
                "worker_id": rng.choice(helper.workers),
                "from_date": d.isoformat(),
                "to_date": (d + timedelta(days=rng.randrange(5))).isoformat(),
            }
            return self._event(helper.agency_id, kind, at, payload)
        if kind == "certification-obtained":
            payload = {
                "worker_id": rng.choice(local.workers),
                "licence": rng.choice(("assistant", "intermediate")),
                "obtained_on": d.isoformat(),
            }
            return self._event(local.agency_id, kind, at, payload)
        payload = {
            "pairing_id": pairing,
            "milestone": rng.choice(MILESTONES),
            "reached_on": d.isoformat(),
        }
        return self._event(helper.agency_id, kind, at, payload)


def events(province: Province, total: int, seed: int = 8, tag: str = "e2e") -> Iterator[Event]:
    """Exactly `total` events: the registry first (cut short if `total` is small), then activity."""
    gen = Generator(province, seed, tag)
    made = 0
    for stream in (gen.registry(), gen.activity()):
        for event in stream:
            if made == total:
                return
            made += 1
            yield event


def canonical(event: Event, region_code: str, recorded_at: str) -> Event:
    """The event as intake would put it on EVENTS: region, recording time, no personal data."""
    payload = event["payload"]
    if event["type"] == "client-registered":
        payload = {k: v for k, v in payload.items() if k not in ("name", "id_number", "phone")}
    return {**event, "payload": payload, "region_code": region_code, "recorded_at": recorded_at}


def scaled(total: int) -> Province:
    """The issue's province (50 agencies, 20,000 clients) for a full run; smaller for a small one."""
    clients = max(60, min(20_000, total // 5))
    return build(agencies=50, workers_per_agency=10, clients=clients)
