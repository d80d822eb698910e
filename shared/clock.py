"""China time and the clock, in one place: services ask a Clock for "now" and
`today_in_china` for the date, and tests move the clock without sleeping.

`clock_from(settings.testing.clock_file)` gives the system clock unless QIANSHOU_CLOCK_FILE
names a file. That file holds either an ISO timestamp with an offset (the clock stands at
that instant) or a signed number of seconds such as `+86400` (the system clock shifted by
that much). A missing or empty file means the system clock. Tests write the file and poll
for the effect; production never sets the variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Protocol

# SPEC: China time is Asia/Shanghai, UTC+8. A fixed offset rather than the tz database:
# China kept daylight saving time from 1986 to 1991, and a visit in the summer of 1988
# must fall on the same date in every service, the reconciliation and every spreadsheet.
CHINA: tzinfo = timezone(timedelta(hours=8), "Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


def china_date(moment: datetime) -> date:
    """The calendar date in Asia/Shanghai of an instant: plans and reports speak in these."""
    return moment.astimezone(CHINA).date()


def today_in_china(clock: Clock) -> date:
    """Today in Asia/Shanghai, by the given clock (every service's "today" comes from here)."""
    return china_date(clock.now())


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that moves only when told to (unit tests)."""

    at: datetime

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


def parse_clock_setting(text: str, system_now: datetime) -> datetime:
    """`2019-11-05T12:00:00+08:00` -> that instant; `+3600` / `-60` -> system time shifted."""
    text = text.strip()
    if not text:
        return system_now
    if text[0] in "+-" and text[1:].replace(".", "", 1).isdigit():
        return system_now + timedelta(seconds=float(text))
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"clock setting without an offset: {text!r}")
    return at


@dataclass(frozen=True)
class FileClock:
    """The instant named in a file, else system time. The file is tiny and read on every
    call, so a test's change is seen at once."""

    path: Path

    def now(self) -> datetime:
        system_now = datetime.now(UTC)
        try:
            setting = self.path.read_text()
        except FileNotFoundError:
            return system_now
        return parse_clock_setting(setting, system_now)


def clock_from(clock_file: str | None) -> Clock:
    """The system clock, or the file clock the tests set (Settings.testing.clock_file)."""
    return FileClock(Path(clock_file)) if clock_file else SystemClock()


def clock_from_env() -> Clock:
    """The clock this process's settings name (for code that is not handed one)."""
    from shared.settings import for_tests

    return clock_from(for_tests().clock_file)
