"""The ground truth: the KPIs recomputed in plain Python from the events intake recorded
(according to the ledger), to compare with what reporting answers."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from tests.faults.workload import AGENCIES, Event

# The KPIs the chaos workload moves; each is compared exactly.
COMPARED = (
    "agencies",
    "workers_total",
    "workers_licensed",
    "clients_registered",
    "clients_in_difficulty",
    "clients_served",
    "clients_served_by_service",
    "visits_by_service",
    "visit_minutes",
    "activities_by_kind",
    "activity_attendance_by_kind",
    "trainings_by_kind",
    "training_attendances",
    "training_hours",
    "staff_days_dispatched",
)


def in_scope(agency_id: str, region: str | None) -> bool:
    regions = {a.agency_id: a.region_code for a in AGENCIES}
    return region is None or regions.get(agency_id, "").startswith(region)


def expected_summary(events: list[Event], region: str | None) -> dict[str, Any]:
    """The compared KPIs over `events` (each counted once) for agencies under `region`."""
    mine = [e for e in events if in_scope(e["agency_id"], region)]
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in mine:
        by_type[e["type"]].append(e["payload"])
    roles = Counter(p["role"] for p in by_type["agency-registered"])
    visits = [(e["agency_id"], e["payload"]) for e in mine if e["type"] == "visit-logged"]
    served_by: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for agency, p in visits:
        served_by[p["service"]].add((agency, p["client_id"]))
    activities = by_type["activity-held"]
    trainings = by_type["training-completed"]
    return {
        "agencies": {
            "assisting": roles["assisting"],
            "assisted": roles["assisted"],
            "incubated": 0,
        },
        "workers_total": len(by_type["worker-registered"]),
        "workers_licensed": sum(p["licence"] != "none" for p in by_type["worker-registered"]),
        "clients_registered": len(by_type["client-registered"]),
        "clients_in_difficulty": sum(p["in_difficulty"] for p in by_type["client-registered"]),
        "clients_served": len({(a, p["client_id"]) for a, p in visits}),
        "clients_served_by_service": {s: len(c) for s, c in sorted(served_by.items())},
        "visits_by_service": dict(sorted(Counter(p["service"] for _, p in visits).items())),
        "visit_minutes": sum(p["duration_min"] for _, p in visits),
        "activities_by_kind": dict(sorted(Counter(p["kind"] for p in activities).items())),
        "activity_attendance_by_kind": _sum_by(activities, "kind", "attendees"),
        "trainings_by_kind": dict(sorted(Counter(p["kind"] for p in trainings).items())),
        "training_attendances": sum(len(set(p["attendee_worker_ids"])) for p in trainings),
        "training_hours": float(sum(p["hours"] for p in trainings)),
        "staff_days_dispatched": len(  # each (pairing, worker, day) once (SPEC 3.6)
            {
                (p["pairing_id"], p["worker_id"], date.fromisoformat(p["from_date"]) + timedelta(n))
                for p in by_type["staff-dispatched"]
                for n in range(
                    (date.fromisoformat(p["to_date"]) - date.fromisoformat(p["from_date"])).days + 1
                )
            }
        ),
    }


def _sum_by(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, int]:
    out: Counter[str] = Counter()
    for r in rows:
        out[r[key]] += r[value]
    return dict(sorted(out.items()))


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Human-readable differences on the compared KPIs (dicts compared without key order)."""
    out = []
    for kpi in COMPARED:
        want, got = expected[kpi], actual.get(kpi)
        if isinstance(want, dict) and isinstance(got, dict):
            same = {k: v for k, v in want.items() if v} == {k: v for k, v in got.items() if v}
        else:
            same = want == got
        if not same:
            out.append(f"{kpi}: expected {want}, got {got}")
    return out
