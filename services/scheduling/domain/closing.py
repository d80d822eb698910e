"""When a slot is done and when it is overdue.

A logged visit closes an open slot of the same agency, client and service whose window
contains the visit's start. A visit that carries a `plan_id` may also close that plan's
slot of the same day outside the window (early or late), or else the plan's most recent
earlier slot still open. A visit without a `plan_id` that starts after a window ended
closes the most recent such slot still open: the visit was late, not missing. A slot closed
by a visit that started after its window is done late (`late`), whether or not the sweep
had already called it overdue. A slot whose window ended without a visit becomes overdue
once a grace period has passed (docs/scheduling.md); `overdue_at` is kept for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.scheduling.domain.assignment import local_day

OPEN = ("due", "unassigned", "overdue")


@dataclass(frozen=True)
class Slot:
    slot_id: str
    plan_id: str
    client_id: str
    service: str
    start: datetime
    end: datetime
    status: str


@dataclass(frozen=True)
class Visit:
    client_id: str
    service: str
    started_at: datetime
    plan_id: str | None = None


def slot_closed_by(visit: Visit, slots: list[Slot]) -> Slot | None:
    """The slot this visit closes, if any."""
    mine = [
        s
        for s in slots
        if s.status in OPEN and s.client_id == visit.client_id and s.service == visit.service
    ]
    inside = [s for s in mine if s.start <= visit.started_at <= s.end]
    if inside:
        return min(inside, key=lambda s: (s.start, s.slot_id))
    if visit.plan_id is None:
        ended = [s for s in mine if s.end < visit.started_at]
        return max(ended, key=lambda s: (s.start, s.slot_id)) if ended else None
    of_plan = [s for s in mine if s.plan_id == visit.plan_id]
    same_day = [s for s in of_plan if local_day(s.start) == local_day(visit.started_at)]
    if same_day:
        return min(same_day, key=lambda s: abs((s.start - visit.started_at).total_seconds()))
    earlier = [s for s in of_plan if s.start <= visit.started_at]
    return max(earlier, key=lambda s: s.start) if earlier else None


def is_late(visit: Visit, slot: Slot) -> bool:
    """The visit started after the slot's window had ended."""
    return visit.started_at > slot.end


# Ethnicities whose elders are best visited in another language than Mandarin; a plan
# without `required_language` takes its client's from here (issue 5: two thirds of the
# elders in Longjing speak Korean). Anything else sets no language requirement.
LANGUAGE_OF_ETHNICITY = {
    "korean": "ko",
    "chaoxian": "ko",
    "朝鲜族": "ko",
    "mongolian": "mn",
    "蒙古族": "mn",
    "uyghur": "ug",
    "维吾尔族": "ug",
    "tibetan": "bo",
    "藏族": "bo",
}


def language_need(ethnicity: str | None) -> str | None:
    return LANGUAGE_OF_ETHNICITY.get((ethnicity or "").strip().lower())
