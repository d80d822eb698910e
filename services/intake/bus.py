"""Intake's NATS front door: request/reply on intake.<agency_id>.<type>.

The subject names the agency; NATS permissions let an agency's user publish only under
its own intake.<agency_id>.>, so the subject is the credential. The reply body is what
HTTP would answer, with the HTTP status in the `Qianshou-Status` header (NATS itself
uses `Status` for protocol statuses: a reply carrying `Status: 503` reads as "no responders")."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from faststream.nats import NatsBroker, NatsMessage, NatsResponse

from services.intake.handlers import Answer, Intake, error
from shared.subjects import INTAKE_ALL
from shared.tokens import Principal


async def _raw(msg: NatsMessage) -> bytes:
    return msg.body


def reply(answer: Answer) -> NatsResponse:
    headers = {"Qianshou-Status": str(answer.status), **(answer.headers or {})}
    return NatsResponse(orjson.dumps(answer.body), headers=headers)


def subscribe(broker: NatsBroker, intake: Callable[[], Intake | None]) -> None:
    """Answer every intake request; `intake` gives the service once it has started."""

    @broker.subscriber(
        INTAKE_ALL,
        queue="intake",
        decoder=_raw,
        title="intake.{agency_id}.{type}",
        description="Submit one event (or an array) by request/reply",
    )
    async def on_request(msg: NatsMessage) -> NatsResponse:
        service = intake()
        if service is None:
            return reply(error(503, "unavailable", "intake is starting"))
        _, agency_id, event_type = msg.raw_message.subject.split(".", 2)
        try:
            answer = await service.submit(
                msg.body, Principal(role="agency", agency_id=agency_id), subject_type=event_type
            )
        except Exception as exc:  # a failure must still answer, or the caller times out
            answer = error(503, "unavailable", f"not stored, retry: {type(exc).__name__}")
        return reply(answer)
