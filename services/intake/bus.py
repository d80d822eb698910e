"""Intake's NATS front door: request/reply on intake.<agency_id>.<type>.

The subject names the agency; NATS permissions let an agency's user publish only under
its own intake.<agency_id>.>, so the subject is the credential. The reply body is what
HTTP would answer, with the HTTP status in the `Qianshou-Status` header (NATS itself
uses `Status` for protocol statuses: a reply carrying `Status: 503` reads as "no responders")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from faststream.nats import NatsBroker, NatsMessage

from services.intake import domain
from services.intake.usecases import Intake
from shared.errors import Refusal, Unavailable
from shared.http import status_of
from shared.subjects import INTAKE_ALL, inbox_prefix
from shared.tokens import Principal

log = logging.getLogger(__name__)


async def _raw(msg: NatsMessage) -> bytes:
    return msg.body


def reply(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> tuple[bytes, dict[str, str]]:
    """The reply's body and headers: the body HTTP would answer, its status in a header."""
    return orjson.dumps(body), {"Qianshou-Status": str(status), **(headers or {})}


def subscribe(broker: NatsBroker, intake: Callable[[], Intake | None]) -> None:
    """Answer every intake request; `intake` gives the service once it has started."""

    @broker.subscriber(
        INTAKE_ALL,
        queue="intake",
        decoder=_raw,
        no_reply=True,  # we reply ourselves, and only into the agency's own inbox
        title="intake.{agency_id}.{type}",
        description="Submit one event (or an array) by request/reply",
    )
    async def on_request(msg: NatsMessage) -> None:
        _, agency_id, event_type = msg.raw_message.subject.split(".", 2)
        reply_to = msg.raw_message.reply or ""
        # NATS checks what a client publishes to, not the reply subject it names; intake's
        # answer would go out with intake's own rights. So an answer goes only into the
        # agency's inbox (_INBOX_<agency_id>.…), and a request naming anything else is
        # dropped before it is even read.
        if not reply_to.startswith(f"{inbox_prefix(agency_id)}."):
            log.warning("intake.%s: request with reply subject %r dropped", agency_id, reply_to)
            return
        body, headers = await _answer(intake(), msg.body, agency_id, event_type)
        await broker.connection.publish(reply_to, body, headers=headers)


async def _answer(
    service: Intake | None, body: bytes, agency_id: str, event_type: str
) -> tuple[bytes, dict[str, str]]:
    """The one place where intake's NATS side turns outcomes and refusals into replies."""
    try:
        if service is None:
            raise Unavailable("intake is starting")
        request = await service.submit(
            body, Principal(role="agency", agency_id=agency_id), subject_type=event_type
        )
    except Refusal as refusal:
        return reply(status_of(refusal), refusal.body(), refusal.headers)
    except Exception as exc:  # a failure must still answer, or the caller times out
        failed = Unavailable(f"not stored, retry: {type(exc).__name__}")
        return reply(status_of(failed), failed.body())
    return reply(*domain.answer(request))
