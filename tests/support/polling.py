"""Waiting for a condition with a deadline, instead of sleeping a guessed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    condition: Callable[[], Any | Awaitable[Any]],
    timeout_s: float = 20.0,
    interval_s: float = 0.05,
    what: str = "",
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while True:
        try:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            last = result
        except Exception as exc:  # a not-yet-ready service may refuse the connection
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not true within {timeout_s}s: {what or condition} (last: {last!r})"
            )
        await asyncio.sleep(interval_s)
