"""The dead-letter stream, for operators: list what was parked, show one, replay it.

Replaying publishes the original event again on its original EVENTS subject (with a new
Nats-Msg-Id, so the stream takes it) and removes it from DEADLETTER. Consumers that had
applied it skip it (they are idempotent by event id); the one that failed tries again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from shared import publishing
from shared.subjects import DEAD_LETTER_STREAM

# The headers a parked event carries (written by shared/consumer.py, read here and by ops).
REASON = "Qianshou-Reason"
SERVICE = "Qianshou-Service"
CONSUMER = "Qianshou-Consumer"
STREAM_SEQ = "Qianshou-Stream-Seq"
SUBJECT = "Qianshou-Subject"


def headers(
    reason: str, service: str, consumer: str, stream_seq: int, subject: str
) -> dict[str, str]:
    """What a consumer attaches to an event it parks on DEADLETTER."""
    return {
        REASON: reason[:1000].replace("\n", " "),
        SERVICE: service,
        CONSUMER: consumer,
        STREAM_SEQ: str(stream_seq),
        SUBJECT: subject,
    }


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    service: str
    subject: str
    reason: str
    stream_seq: int
    data: bytes

    def summary(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "service": self.service,
            "subject": self.subject,
            "stream_seq": self.stream_seq,
            "reason": self.reason,
        }


def _letter(msg: RawStreamMsg) -> DeadLetter:
    found = msg.headers or {}
    return DeadLetter(
        seq=int(msg.seq or 0),
        service=found.get(SERVICE, ""),
        subject=found.get(SUBJECT, ""),
        reason=found.get(REASON, ""),
        stream_seq=int(found.get(STREAM_SEQ, "0")),
        data=msg.data or b"",
    )


async def letters(
    js: JetStreamContext, service: str | None = None, limit: int = 1000
) -> list[DeadLetter]:
    """Parked events, oldest first (at most `limit`)."""
    try:
        state = (await js.stream_info(DEAD_LETTER_STREAM)).state
    except NotFoundError:
        return []
    out: list[DeadLetter] = []
    seq = state.first_seq
    while seq and seq <= state.last_seq and len(out) < limit:
        try:
            msg = await js.get_msg(DEAD_LETTER_STREAM, seq=seq, next=True)
        except NotFoundError:
            break
        letter = _letter(msg)
        if service is None or letter.service == service:
            out.append(letter)
        seq = letter.seq + 1
    return out


async def letter(js: JetStreamContext, seq: int) -> DeadLetter:
    return _letter(await js.get_msg(DEAD_LETTER_STREAM, seq=seq))


async def replay(js: JetStreamContext, seq: int) -> DeadLetter:
    """Publish a parked event again on its original subject, then remove it from DEADLETTER."""
    parked = await letter(js, seq)
    await publishing.publish(js, parked.subject, parked.data, f"replay:{seq}", what="replay")
    await js.delete_msg(DEAD_LETTER_STREAM, seq)
    return parked
