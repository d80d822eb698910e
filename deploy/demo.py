"""The reference programme of SPEC 1 (the seed article) as events, and publishing them.

Lanxing (Changchun, 220102) is paired with Wenhua Community (Longjing, 222405) from May
2019; it incubates Yanghua (registered October 2019) and later Dandelion, runs the
"warm sunset" (情暖夕阳) elderly project with them, trains local workers and dispatches
its staff. Figures the report must show: 30 elders in difficulty, 69 given home
medication, 48 psychological comfort, 208 lecture attendances, 8 close contacts helped
with proxy shopping, 42 staff-days in the first programme year, 2 incubated agencies.

The registry (the agencies and the pairing) is published by the Jilin Provincial Civil
Affairs Department (province token, region 22), as the department pairs the agencies and
registers those the pairing incubated; everything else by the agency it is reported for.

Ids are fixed (uuid5), so publishing the demo twice only yields duplicates. The names,
ID numbers and phones are made up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from shared.clock import CHINA
from shared.events import TRAINING_KINDS
from shared.tokens import Principal

PAIRING = "jl-2019-lanxing-wenhua"
PROJECT = "qingnuan-xiyang"
PROVINCE = "22"  # Jilin: the department that made the pairing
REGISTRY = ("agency-registered", "pairing-established")
_NS = uuid.UUID("6f1b8a40-5d0c-4a57-9a42-0d3b3c9b1a01")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(map(str, parts))))


def _event(
    agency: str, kind: str, at: datetime, payload: dict[str, Any], *key: object
) -> dict[str, Any]:
    return {
        "event_id": _id(kind, *key),
        "type": kind,
        "schema_version": 1,
        "agency_id": agency,
        "occurred_at": at.isoformat(),
        "payload": payload,
    }


def _day(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=CHINA)


def _id_number(n: int) -> str:
    """A made-up 18-character ID number of Longjing (222405), born 1935-1954."""
    body = f"222405{1935 + n % 20}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def agencies(incubated: bool = False) -> Iterator[dict[str, Any]]:
    """The agencies registered before the pairing or, with `incubated`, the ones the
    pairing incubated, registered once the pairing exists."""
    rows = [
        (
            "lanxing",
            "Lanxing Social Work Service Center (长春市南关区兰兴社工服务中心)",
            "220102",
            "assisting",
            date(2015, 3, 1),
            None,
        ),
        (
            "wenhua",
            "Wenhua Community, Longjing (龙井市文化社区)",
            "222405",
            "community",
            date(2019, 5, 1),
            None,
        ),
        (
            "yanghua",
            "Yanghua Social Work Service Center (阳花社会工作服务中心)",
            "222405",
            "assisted",
            date(2019, 10, 15),
            PAIRING,
        ),
        (
            "pugongying",
            "Dandelion Social Work Service Center (蒲公英社会工作服务中心)",
            "222405",
            "assisted",
            date(2020, 9, 1),
            PAIRING,
        ),
    ]
    for agency_id, name, region, role, on, pairing in rows:
        if (pairing is not None) != incubated:
            continue
        yield _event(
            agency_id,
            "agency-registered",
            _day(on),
            {
                "agency_id": agency_id,
                "name": name,
                "region_code": region,
                "role": role,
                "registered_on": on.isoformat(),
                "incubated_by_pairing_id": pairing,
            },
            agency_id,
        )


def pairing() -> Iterator[dict[str, Any]]:
    yield _event(
        "lanxing",
        "pairing-established",
        _day(date(2019, 5, 6)),
        {
            "pairing_id": PAIRING,
            "assisting_agency_id": "lanxing",
            "assisted_agency_id": "wenhua",
            "starts_on": "2019-05-06",
            "ends_on": "2021-05-05",
            "targets": {
                "staff_days_per_year": 40,
                "agencies_to_incubate": 1,
                "projects_to_undertake": 1,
            },
        },
        PAIRING,
    )


def workers() -> Iterator[dict[str, Any]]:
    for n in range(6):
        yield _event(
            "lanxing",
            "worker-registered",
            _day(date(2019, 5, 6)),
            {
                "worker_id": f"lx-w{n}",
                "agency_id": "lanxing",
                "role": "social-worker",
                "licence": "intermediate" if n < 4 else "assistant",
                "languages": ["zh"],
            },
            "lx",
            n,
        )
    for n in range(8):
        yield _event(
            "yanghua",
            "worker-registered",
            _day(date(2019, 10, 20)),
            {
                "worker_id": f"yh-w{n}",
                "agency_id": "yanghua",
                "role": "social-worker" if n < 5 else "volunteer",
                "licence": "none",
                "languages": ["zh", "ko"] if n % 3 else ["zh"],
            },
            "yh",
            n,
        )
    for n in range(3):  # licence-exam coaching paid off for three of them
        yield _event(
            "yanghua",
            "certification-obtained",
            _day(date(2020, 11, 1)),
            {"worker_id": f"yh-w{n}", "licence": "assistant", "obtained_on": "2020-10-25"},
            "yh",
            n,
        )


def project() -> Iterator[dict[str, Any]]:
    yield _event(
        "yanghua",
        "project-started",
        _day(date(2019, 11, 1)),
        {
            "project_id": PROJECT,
            "agency_id": "yanghua",
            "pairing_id": PAIRING,
            "name": "情暖夕阳 warm sunset: elders in difficulty",
            "target_group": "elders in difficulty",
            "starts_on": "2019-11-01",
        },
        PROJECT,
    )


def clients() -> Iterator[dict[str, Any]]:
    """80 elders (30 in difficulty) and 8 close contacts of 2020's COVID-19 outbreak."""
    for n in range(80):
        yield _event(
            "yanghua",
            "client-registered",
            _day(date(2019, 11, 5)),
            {
                "client_id": f"wh-e{n:03d}",
                "project_id": PROJECT,
                "name": f"金{'顺英明哲淑子'[n % 6]}{n}",
                "id_number": _id_number(n),
                "phone": f"1390433{n:04d}",
                "birth_year": 1935 + n % 20,
                "sex": "female" if n % 3 else "male",
                "ethnicity": "korean" if n % 3 else "han",
                "circumstances": ["left-behind", "living-alone"] if n % 2 else ["left-behind"],
                "in_difficulty": n < 30,
            },
            "elder",
            n,
        )
    for n in range(8):
        yield _event(
            "yanghua",
            "client-registered",
            _day(date(2020, 2, 3)),
            {
                "client_id": f"wh-cc{n}",
                "name": f"朴{n}",
                "birth_year": 1960 + n,
                "sex": "female" if n % 2 else "male",
                "ethnicity": "korean",
                "circumstances": [],
                "in_difficulty": False,
            },
            "contact",
            n,
        )


def visits() -> Iterator[dict[str, Any]]:
    def visit(
        client: str, worker: str, service: str, when: datetime, minutes: int, n: int
    ) -> dict[str, Any]:
        return _event(
            "yanghua",
            "visit-logged",
            when,
            {
                "visit_id": _id("visit", client, service, n),
                "client_id": client,
                "worker_id": worker,
                "service": service,
                "started_at": when.isoformat(),
                "duration_min": minutes,
            },
            client,
            service,
            n,
        )

    for n in range(69):  # home medication for 69 elders, three rounds each
        for k in range(3):
            when = _day(date(2019, 11, 11) + timedelta(days=7 * k + n % 5), 9 + n % 6)
            yield visit(f"wh-e{n:03d}", f"yh-w{n % 5}", "home-medication", when, 30, k)
    for n in range(48):  # psychological comfort for 48 of them, twice each
        for k in range(2):
            when = _day(date(2019, 12, 2) + timedelta(days=14 * k + n % 7), 14)
            yield visit(f"wh-e{n:03d}", f"yh-w{n % 5}", "psychological-comfort", when, 45, k)
    for n in range(8):  # close contacts: proxy shopping and counselling
        for k in range(2):
            when = _day(date(2020, 2, 4) + timedelta(days=3 * k), 10)
            yield visit(f"wh-cc{n}", f"yh-w{n % 3}", "proxy-shopping", when, 40, k)
        yield visit(
            f"wh-cc{n}", f"yh-w{n % 3}", "crisis-support", _day(date(2020, 2, 5), 15), 30, 0
        )


def activities() -> Iterator[dict[str, Any]]:
    for n, attendees in enumerate([45, 42, 40, 38, 43]):  # 208 attendances: "200+"
        held = date(2019, 12, 10) + timedelta(days=30 * n)
        yield _event(
            "yanghua",
            "activity-held",
            _day(held),
            {
                "activity_id": f"lecture-{n}",
                "project_id": PROJECT,
                "kind": "health-lecture",
                "title": f"Health lecture {n + 1}",
                "held_on": held.isoformat(),
                "attendees": attendees,
            },
            n,
        )


def trainings() -> Iterator[dict[str, Any]]:
    for n, kind in enumerate(TRAINING_KINDS):
        held = date(2019, 6, 10) + timedelta(days=45 * n)
        yield _event(
            "lanxing",
            "training-completed",
            _day(held),
            {
                "training_id": f"tr-{n}",
                "pairing_id": PAIRING,
                "kind": kind,
                "held_on": held.isoformat(),
                "hours": 3.0 if kind != "exam-coaching" else 6.0,
                "trainer_agency_id": "lanxing",
                "attendee_worker_ids": [f"yh-w{k}" for k in range(5)],
            },
            n,
        )


def dispatches() -> Iterator[dict[str, Any]]:
    """Seven trips of six days in the first programme year: 42 staff-days."""
    for n in range(7):
        start = date(2019, 5, 13) + timedelta(days=49 * n)
        yield _event(
            "lanxing",
            "staff-dispatched",
            _day(start),
            {
                "dispatch_id": f"dispatch-{n}",
                "pairing_id": PAIRING,
                "worker_id": f"lx-w{n % 4}",
                "from_date": start.isoformat(),
                "to_date": (start + timedelta(days=5)).isoformat(),
            },
            n,
        )


def milestones() -> Iterator[dict[str, Any]]:
    for milestone, on, agency in [
        ("agency-registered", date(2019, 10, 15), "yanghua"),
        ("project-undertaken", date(2019, 11, 1), "yanghua"),
        ("systems-established", date(2019, 12, 20), "yanghua"),
        ("methods-mastered", date(2020, 12, 30), "yanghua"),
    ]:
        yield _event(
            "lanxing",
            "milestone-reached",
            _day(on),
            {
                "pairing_id": PAIRING,
                "milestone": milestone,
                "reached_on": on.isoformat(),
                "agency_id": agency,
            },
            milestone,
        )


def sender(event: dict[str, Any]) -> Principal:
    """Who publishes an event of the demo: the province the registry, agencies the rest."""
    if event["type"] in REGISTRY:
        return Principal("province", region=PROVINCE)
    return Principal("agency", agency_id=event["agency_id"])


def reference_programme() -> list[dict[str, Any]]:
    """Every event of the reference programme, in the order it happened (roughly)."""
    return [
        *agencies(),
        *pairing(),
        *agencies(incubated=True),
        *workers(),
        *project(),
        *clients(),
        *visits(),
        *activities(),
        *trainings(),
        *dispatches(),
        *milestones(),
    ]
