"""Per-caller request rate limits (token buckets), so one agency's runaway frontend cannot
starve the others. Kept per process: with N processes of a service the limit is N times
this; a shared limiter (NATS KV, or at the proxy) is the step after."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    per_second: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, caller: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds until it would."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_second)
        if tokens >= 1:
            self._buckets[caller] = (tokens - 1, now)
            return 0.0
        self._buckets[caller] = (tokens, now)
        return (1 - tokens) / self.per_second
