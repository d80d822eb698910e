"""The ledger: every event sent to intake and every answer that came back, plus what the
run published behind intake's back (poison, repeats after the dedup window).

An event is *acknowledged* when any attempt was answered `accepted` or `duplicate` (both
say intake holds it), *rejected* when every attempt was definitely refused (`rejected`,
`conflict`, a 4xx for the whole request), and *unknown* otherwise (a timeout, a refused
connection, a 5xx/503: it may or may not be stored).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from tests.faults.workload import Event

Key = tuple[str, str]
Verdict = Literal["acknowledged", "unknown", "rejected"]
ACK = frozenset({"accepted", "duplicate"})
REFUSED = frozenset({"rejected", "conflict", "refused"})


def key_of(event: Event) -> Key:
    return (event["agency_id"], event["event_id"])


@dataclass
class Entry:
    event: Event
    first_sent: float
    outcomes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        if ACK & set(self.outcomes):
            return "acknowledged"
        if self.outcomes and set(self.outcomes) <= REFUSED:
            return "rejected"
        return "unknown"


@dataclass(frozen=True)
class Poison:
    """Bytes published straight to EVENTS that no consumer can decode."""

    subject: str
    stream_seq: int
    consumers: tuple[str, ...]  # the durables whose filter takes this subject


@dataclass
class Ledger:
    entries: dict[Key, Entry] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    conflict_probes: Counter[str] = field(default_factory=Counter)
    poison: list[Poison] = field(default_factory=list)
    stream_repeats: list[Key] = field(default_factory=list)
    late_resend_age_s: list[float] = field(default_factory=list)

    def record(self, event: Event, outcome: str) -> None:
        """One answer (or the lack of one) for one event."""
        entry = self.entries.get(key_of(event))
        if entry is None:
            entry = self.entries[key_of(event)] = Entry(event, time.monotonic())
        entry.outcomes.append(outcome)
        self.attempts[outcome] += 1

    def keys(self, verdict: Verdict) -> list[Key]:
        return [k for k, e in self.entries.items() if e.verdict == verdict]

    def counts(self) -> dict[str, int]:
        verdicts = Counter(e.verdict for e in self.entries.values())
        return {
            "sent": len(self.entries),
            "attempts": sum(self.attempts.values()),
            "acknowledged": verdicts["acknowledged"],
            "unknown": verdicts["unknown"],
            "rejected": verdicts["rejected"],
        }
