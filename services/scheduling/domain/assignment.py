"""Choosing a worker for each visit slot: the right language, never two overlapping visits
for one worker, at most `daily_cap` visits a worker a day (Asia/Shanghai dates).

Candidates are tried in this order: the preferred worker, then the worker who already has
this plan's earlier visits (elders do better with one familiar face), then the least
booked, then by id so the outcome is deterministic. A slot nobody can take is a conflict
with a reason; it is never dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from shared.clock import CHINA

NO_ELIGIBLE_WORKER = "no_eligible_worker"
ALL_BUSY = "all_workers_busy"
DAILY_CAP = "daily_cap_reached"


@dataclass(frozen=True)
class Worker:
    worker_id: str
    languages: frozenset[str]

    def speaks(self, language: str | None) -> bool:
        return language is None or language in self.languages


@dataclass(frozen=True)
class Booking:
    worker_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Opening:
    """A slot waiting for a worker."""

    slot_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Assignment:
    slot_id: str
    worker_id: str | None
    conflict: str | None = None


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals: a visit ending at 10:00 and one starting at 10:00 do not clash."""
    return a_start < b_end and b_start < a_end


def local_day(at: datetime) -> date:
    return at.astimezone(CHINA).date()


class Calendar:
    """Each worker's bookings, updated as slots are assigned."""

    def __init__(self, bookings: Iterable[Booking]):
        self._by_worker: dict[str, list[Booking]] = {}
        self._per_day: Counter[tuple[str, date]] = Counter()
        for booking in bookings:
            self.add(booking)

    def add(self, booking: Booking) -> None:
        self._by_worker.setdefault(booking.worker_id, []).append(booking)
        self._per_day[(booking.worker_id, local_day(booking.start))] += 1

    def load(self, worker_id: str) -> int:
        return len(self._by_worker.get(worker_id, ()))

    def clashes(self, worker_id: str, opening: Opening) -> bool:
        return any(
            overlaps(b.start, b.end, opening.start, opening.end)
            for b in self._by_worker.get(worker_id, ())
        )

    def at_cap(self, worker_id: str, opening: Opening, daily_cap: int) -> bool:
        return self._per_day[(worker_id, local_day(opening.start))] >= daily_cap


def assign(
    openings: list[Opening],
    workers: list[Worker],
    bookings: Iterable[Booking],
    *,
    language: str | None,
    preferred: str | None = None,
    daily_cap: int = 4,
) -> list[Assignment]:
    """One assignment per opening, in the openings' order."""
    eligible = [w for w in workers if w.speaks(language)]
    calendar = Calendar(bookings)
    chosen: Counter[str] = Counter()  # this plan's visits per worker so far
    out = []
    for opening in sorted(openings, key=lambda o: (o.start, o.slot_id)):
        if not eligible:
            out.append(Assignment(opening.slot_id, None, NO_ELIGIBLE_WORKER))
            continue
        order = sorted(
            eligible,
            key=lambda w: (
                w.worker_id != preferred,
                -chosen[w.worker_id],
                calendar.load(w.worker_id),
                w.worker_id,
            ),
        )
        free = [w for w in order if not calendar.clashes(w.worker_id, opening)]
        fits = [w for w in free if not calendar.at_cap(w.worker_id, opening, daily_cap)]
        if not fits:
            out.append(Assignment(opening.slot_id, None, DAILY_CAP if free else ALL_BUSY))
            continue
        worker = fits[0].worker_id
        calendar.add(Booking(worker, opening.start, opening.end))
        chosen[worker] += 1
        out.append(Assignment(opening.slot_id, worker))
    return out
