"""When the sweep may call a slot overdue: only once scheduling's consumer has applied what
the stream held (services/scheduling/catchup.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.scheduling.catchup import CatchUp, ConsumerState

T0 = datetime(2019, 11, 18, 3, tzinfo=UTC)


def _never() -> CatchUp:
    async def look() -> ConsumerState:
        raise AssertionError("not looked at")

    return CatchUp(look)


def test_idle_consumer_is_caught_up_now() -> None:
    assert _never().judge(ConsumerState(0, 0, 40, 40), T0) == T0


def test_pending_messages_mean_not_yet() -> None:
    assert _never().judge(ConsumerState(12, 0, 28, 28), T0) is None


def test_under_load_a_mark_is_taken_and_proved_by_the_ack_floor() -> None:
    catch_up = _never()
    assert catch_up.judge(ConsumerState(0, 500, 900, 400), T0) is None  # mark at 900
    later = T0 + timedelta(seconds=30)
    assert catch_up.judge(ConsumerState(3, 500, 1400, 899), later) is None
    # the floor passed the mark: what the stream held at T0 is applied, whatever came since
    assert catch_up.judge(ConsumerState(7, 500, 1900, 1200), later) == T0


def test_an_unknown_position_is_not_caught_up() -> None:
    async def look() -> ConsumerState:
        raise TimeoutError("no stream yet")

    assert asyncio.run(CatchUp(look).caught_up_at(T0)) is None
