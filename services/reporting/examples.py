"""Examples for reporting's OpenAPI document, from the reference programme (SPEC 1): the
province of Jilin's summary to the end of 2020 with the demo loaded (`qianshou up --demo`,
`GET /v1/reports/summary?region=22&to=2020-12-31`)."""

from __future__ import annotations

from typing import Any

JILIN_TO_2020: dict[str, Any] = {
    "agencies": {"assisting": 1, "assisted": 2, "incubated": 2},
    "pairings_active": 1,
    "workers_total": 14,
    "workers_licensed": 9,
    "licensed_rate": 0.6429,
    "clients_registered": 88,
    "clients_in_difficulty": 30,
    "clients_served": 77,
    "clients_served_by_service": {
        "home-medication": 69,
        "psychological-comfort": 48,
        "proxy-shopping": 8,
        "crisis-support": 8,
    },
    "visits_by_service": {
        "home-medication": 207,
        "psychological-comfort": 96,
        "proxy-shopping": 16,
        "crisis-support": 8,
    },
    "visit_minutes": 11410,
    "activities_by_kind": {"health-lecture": 5},
    "activity_attendance_by_kind": {"health-lecture": 208},
    "trainings_by_kind": {
        "demonstration": 1,
        "exam-coaching": 1,
        "experience-sharing": 1,
        "field-visit": 1,
        "online-guidance": 1,
        "supervision": 1,
        "thematic-training": 1,
    },
    "training_attendances": 35,
    "training_hours": 24.0,
    "staff_days_dispatched": 42,
    "staff_days_target": 66.3,
    "milestones": [
        {
            "pairing_id": "jl-2019-lanxing-wenhua",
            "milestone": "agency-registered",
            "reached_on": "2019-10-15",
        },
        {
            "pairing_id": "jl-2019-lanxing-wenhua",
            "milestone": "project-undertaken",
            "reached_on": "2019-11-01",
        },
        {
            "pairing_id": "jl-2019-lanxing-wenhua",
            "milestone": "systems-established",
            "reached_on": "2019-12-20",
        },
        {
            "pairing_id": "jl-2019-lanxing-wenhua",
            "milestone": "methods-mastered",
            "reached_on": "2020-12-30",
        },
    ],
    "visits_scheduled": 0,
    "visits_overdue": 0,
    "as_of": "2021-01-04T09:12:30.000000+00:00",
    "scope": {
        "region": "22",
        "agency": None,
        "pairing": None,
        "project": None,
        "from": None,
        "to": "2020-12-31",
    },
}
