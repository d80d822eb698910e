"""AsyncAPI 3.0 documents of the services' NATS sides, built from the contract models, so
the document cannot drift from what the code validates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter

from shared.events import canonical_events, incoming_events

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Channel:
    """One subject pattern a service receives on or sends to."""

    name: str
    address: str
    action: Literal["send", "receive"]
    message: str  # a key of MESSAGES
    description: str
    reply: str | None = None  # a key of MESSAGES, for request/reply


RESULT = {
    "type": "object",
    "description": "Per-event outcome (or an array of them for an array request); the "
    "Qianshou-Status header carries the HTTP-equivalent status code.",
    "properties": {
        "event_id": {"type": ["string", "null"]},
        "status": {"enum": ["accepted", "duplicate", "conflict", "rejected"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "path": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
MESSAGES: dict[str, TypeAdapter[Any] | dict[str, Any]] = {
    "IncomingEvent": incoming_events,
    "CanonicalEvent": canonical_events,
    "SubmissionResult": RESULT,
}


def document(
    service: str, description: str, nats_url: str, channels: list[Channel]
) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for key in {c.message for c in channels} | {c.reply for c in channels if c.reply}:
        source = MESSAGES[key]
        schema = source if isinstance(source, dict) else source.json_schema(ref_template=REF)
        schema = dict(schema)
        schemas.update(schema.pop("$defs", {}))
        schemas[key] = schema
        messages[key] = {"name": key, "payload": {"$ref": REF.format(model=key)}}
    doc_channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for c in channels:
        doc_channels[c.name] = {
            "address": c.address,
            "description": c.description,
            "messages": {c.message: {"$ref": f"#/components/messages/{c.message}"}},
        }
        operation: dict[str, Any] = {
            "action": c.action,
            "channel": {"$ref": f"#/channels/{c.name}"},
            "messages": [{"$ref": f"#/channels/{c.name}/messages/{c.message}"}],
        }
        if c.reply:
            operation["reply"] = {"messages": [{"$ref": f"#/components/messages/{c.reply}"}]}
        operations[f"{c.action}-{c.name}"] = operation
    host = nats_url.split("://", 1)[-1].split("@")[-1]
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"Qianshou {service}", "version": "1.0.0", "description": description},
        "defaultContentType": "application/json",
        "servers": {"nats": {"host": host, "protocol": "nats"}},
        "channels": doc_channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


EVENTS_OUT = Channel(
    "events",
    "events.{region_code}.{agency_id}.{type}",
    "send",
    "CanonicalEvent",
    "Canonical events on the EVENTS stream (JetStream), Nats-Msg-Id = <agency_id>:<event_id>; "
    "region_code is 'unassigned' until the agency's registration is known.",
)
EVENTS_IN = Channel(
    "events",
    "events.{region_code}.{agency_id}.{type}",
    "receive",
    "CanonicalEvent",
    "Canonical events from the EVENTS stream, by a durable pull consumer filtered by type.",
)
DEAD_LETTERS = Channel(
    "deadletter",
    "deadletter.{service}.{type}",
    "send",
    "CanonicalEvent",
    "Events a consumer could not apply after max_deliver attempts, with Qianshou-Reason, "
    "Qianshou-Service and Qianshou-Stream-Seq headers (DEADLETTER stream).",
)
