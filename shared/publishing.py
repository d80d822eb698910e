"""Publishing to a stream through leader elections and lost quorum.

When a replicated stream's leader dies, the next publish fails (no PubAck, or "no
responders") for the second or two an election takes; with two of three nodes down every
publish fails at once until quorum is back. A publisher that retries with the same
Nats-Msg-Id is safe: within the stream's duplicate window the server drops the repeat of
a publish that did land before its PubAck was lost. So every publisher here retries, with
the same headers, until the window is nearly used up, logging each pause.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nats.errors import ConnectionClosedError, ConnectionReconnectingError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from shared.broker import DUPLICATE_WINDOW_S

log = logging.getLogger(__name__)

# A retry later than this could land after the window, as a real duplicate on the stream.
RETRY_WITHIN_S = DUPLICATE_WINDOW_S - 20.0

# What a publish meets while a stream has no leader (an election, no quorum) or while the
# client moves to another node: each passes once a leader is elected or quorum returns.
NO_LEADER = (
    NoStreamResponseError,
    NoRespondersError,
    ServiceUnavailableError,
    NatsTimeoutError,
    TimeoutError,
    ConnectionReconnectingError,
    ConnectionClosedError,
)


def no_leader(exc: BaseException) -> bool:
    return isinstance(exc, NO_LEADER)


def describe(exc: BaseException) -> str:
    """A log line's account of a failed publish that says what is probably going on."""
    if no_leader(exc):
        return (
            "no stream leader (an election, or no quorum: are two nodes down?): "
            f"{type(exc).__name__}"
        )
    return f"{type(exc).__name__}: {exc}"


async def publish(
    js: JetStreamContext,
    subject: str,
    body: bytes,
    msg_id: str,
    headers: dict[str, str] | None = None,
    within_s: float = RETRY_WITHIN_S,
    ack_timeout_s: float = 5.0,
    what: str = "publish",
) -> PubAck:
    """Publish with `Nats-Msg-Id: msg_id`, retrying the very same message while the
    stream has no leader, for at most `within_s` seconds; then the last error is raised."""
    all_headers = {**(headers or {}), "Nats-Msg-Id": msg_id}
    deadline = time.monotonic() + within_s
    pause = 0.2
    while True:
        try:
            return await js.publish(subject, body, headers=all_headers, timeout=ack_timeout_s)
        except NO_LEADER as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            wait = min(pause, left)
            log.warning(
                "%s of %s (Nats-Msg-Id %s): %s; retrying the same message in %.1fs",
                what,
                subject,
                msg_id,
                describe(exc),
                wait,
            )
            await asyncio.sleep(wait)
            pause = min(pause * 2, 5.0)
