"""AsyncAPI 3.0 documents of the services' NATS sides, built from the contract models, so
the document cannot drift from what the code validates.

Integrators read these with the official AsyncAPI tooling (parser, Studio, generators),
which takes AsyncAPI's own schema format: JSON Schema draft 07 plus a few keywords. Two
things pydantic emits are not part of it and are rewritten here: the OpenAPI-style
`discriminator` object (the union still says which variant is which, because each
variant's `type` is a `const`), and `$defs`, which move to `components/schemas`.

Every subject is its own channel, one per event type, so a consumer generated from the
document gets one typed message per subject it filters on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from shared import deadletters
from shared.answers import ErrorAnswer, EventResult
from shared.events import (
    AGENCY_EVENT_TYPES,
    PERSONAL_FIELDS,
    canonical_events,
    incoming_events,
)
from shared.subjects import DEAD_LETTER_STREAM, EVENTS_STREAM, REPORTS_STREAM, inbox_prefix

REF = "#/components/schemas/{model}"
Action = Literal["send", "receive"]


def camel(*words: str) -> str:
    """`camel("submit", "visit-logged")` -> `submitVisitLogged`: ids for generated code."""
    parts = [p for w in words for p in w.replace("_", "-").split("-") if p]
    return parts[0].lower() + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _pascal(type_name: str) -> str:
    return "".join(part.title() for part in type_name.split("-"))


# -- schemas -------------------------------------------------------------------------------


def asyncapi_schema(schema: Any) -> Any:
    """A pydantic JSON schema made acceptable to AsyncAPI's schema format (see above)."""
    if isinstance(schema, dict):
        return {
            key: asyncapi_schema(value)
            for key, value in schema.items()
            if not (key == "discriminator" and isinstance(value, dict))
        }
    if isinstance(schema, list):
        return [asyncapi_schema(item) for item in schema]
    return schema


def _definitions() -> dict[str, Any]:
    """Every contract schema by name: the incoming and canonical envelopes of each type,
    their payloads, and the answers."""
    out: dict[str, Any] = {}
    sources: list[TypeAdapter[Any] | type[BaseModel]] = [
        incoming_events,
        canonical_events,
        EventResult,
        ErrorAnswer,
    ]
    for source in sources:
        if isinstance(source, TypeAdapter):
            schema = source.json_schema(ref_template=REF)
        else:
            schema = source.model_json_schema(ref_template=REF)
            out[source.__name__] = {k: v for k, v in schema.items() if k != "$defs"}
        out.update(schema.get("$defs", {}))
    converted: dict[str, Any] = asyncapi_schema(out)
    return converted


def incoming_model(type_name: str) -> str:
    return f"{_pascal(type_name)}Envelope"


def canonical_model(type_name: str) -> str:
    return f"{_pascal(type_name)}Canonical"


# -- channels and operations ----------------------------------------------------------------

PARAMETERS: dict[str, dict[str, Any]] = {
    "agency_id": {
        "description": "The agency the event is reported for (lower case, digits, - and _).",
        "examples": ["lanxing", "yanghua"],
    },
    "region_code": {
        "description": "The agency's GB/T 2260 region code, or `unassigned` until its "
        "agency-registered event is known.",
        "examples": ["220102", "222405", "unassigned"],
    },
    "region": {
        "description": "The GB/T 2260 prefix the report covers (2, 4, 6 or 12 digits).",
        "examples": ["22", "2224"],
    },
    "period": {
        "description": "A year, quarter or month: 2019, 2019-Q4, 2019-11.",
        "examples": ["2019", "2019-Q4", "2019-11"],
    },
    "service": {
        "description": "The consuming service that gave up on the event.",
        "enum": ["reporting", "scheduling"],
    },
}


@dataclass(frozen=True)
class Channel:
    """One subject pattern (None: a dynamic address such as a requester's inbox)."""

    id: str
    address: str | None
    description: str
    messages: tuple[str, ...]  # keys of components/messages

    @property
    def parameters(self) -> list[str]:
        if self.address is None:
            return []
        return [part[1:-1] for part in self.address.split(".") if part.startswith("{")]


@dataclass(frozen=True)
class Operation:
    """What the service does on a channel: receive (consume, answer) or send (publish)."""

    id: str
    action: Action
    channel: Channel
    summary: str
    security: tuple[str, ...] = ("serviceUser",)
    reply: Channel | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


REPLY = Channel(
    "intakeReply",
    None,
    f"The requester's own inbox ({inbox_prefix('<agency_id>')}.…): the NATS client of an "
    "agency connects with that inbox prefix, and intake answers nowhere else.",
    ("SubmissionResult",),
)


def intake_requests() -> list[Operation]:
    """Intake answers one request/reply subject per event type agencies send."""
    return [
        Operation(
            camel("submit", t),
            "receive",
            Channel(
                camel("intake", t),
                f"intake.{{agency_id}}.{t}",
                f"Submit `{t}` events of an agency by request/reply (one event or an array "
                "of up to 1,000, all of this type): the reply is what HTTP POST /v1/events "
                "answers, its status in the Qianshou-Status header. An agency's NATS user may "
                "publish only under its own intake.<agency_id>.>.",
                (f"{_pascal(t)}Submission",),
            ),
            f"Accept, deduplicate and store `{t}` events sent by an agency's frontend.",
            security=("agencyUser", "serviceUser"),
            reply=REPLY,
            tags=("intake",),
        )
        for t in AGENCY_EVENT_TYPES
    ]


def events(action: Action, types: Iterable[str], what: str) -> list[Operation]:
    """One EVENTS subject per type that the service publishes or consumes."""
    verb = "publish" if action == "send" else "consume"
    return [
        Operation(
            camel(verb, t, "event"),
            action,
            Channel(
                camel("events", t),
                f"events.{{region_code}}.{{agency_id}}.{t}",
                f"Canonical `{t}` events on the JetStream stream {EVENTS_STREAM} "
                "(Nats-Msg-Id = <agency_id>:<event_id>; personal data never appears here).",
                (f"{_pascal(t)}Event",),
            ),
            what,
            tags=("events",),
        )
        for t in types
    ]


def reports(action: Action) -> list[Operation]:
    channel = Channel(
        "reports",
        "reports.{region}.{period}",
        f"report-published events on the JetStream stream {REPORTS_STREAM}, for provincial "
        "consumers: a region's KPI summary for a period, as POST /v1/reports/publish made it.",
        ("ReportPublishedEvent",),
    )
    verb = "publish" if action == "send" else "consume"
    return [
        Operation(
            f"{verb}Report",
            action,
            channel,
            "A region's report for a period, published on request.",
            tags=("reports",),
        )
    ]


def dead_letters(service: str, types: Iterable[str]) -> list[Operation]:
    """Where the service parks events it could not apply after max_deliver attempts."""
    return [
        Operation(
            camel("dead", "letter", t),
            "send",
            Channel(
                camel("deadletter", t),
                f"deadletter.{{service}}.{t}",
                f"`{t}` events a consumer gave up on, on the JetStream stream "
                f"{DEAD_LETTER_STREAM}; `qianshou dlq replay` puts one back on EVENTS.",
                ("DeadLetter",),
            ),
            f"Park a `{t}` event that {service} could not apply.",
            tags=("dead letters",),
        )
        for t in types
    ]


# -- messages -------------------------------------------------------------------------------

_HEADER = {"type": "string"}


def _messages(examples: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in AGENCY_EVENT_TYPES:
        example = examples.get(t)
        out[f"{_pascal(t)}Submission"] = {
            "name": f"{_pascal(t)}Submission",
            "title": f"{t} submission",
            "summary": f"One `{t}` event, or an array of up to 1,000.",
            "payload": {
                "oneOf": [
                    {"$ref": REF.format(model=incoming_model(t))},
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1000,
                        "items": {"$ref": REF.format(model=incoming_model(t))},
                    },
                ]
            },
            **({"examples": [{"name": "reference", "payload": example}]} if example else {}),
        }
    for t in canonical_events_types():
        example = examples.get(t)
        out[f"{_pascal(t)}Event"] = {
            "name": f"{_pascal(t)}Event",
            "title": f"{t} (canonical)",
            "headers": {
                "type": "object",
                "properties": {"Nats-Msg-Id": {**_HEADER, "description": "<agency_id>:<event_id>"}},
            },
            "payload": {"$ref": REF.format(model=canonical_model(t))},
            **(
                {"examples": [{"name": "reference", "payload": canonical_example(example)}]}
                if example
                else {}
            ),
        }
    out["SubmissionResult"] = {
        "name": "SubmissionResult",
        "title": "Intake's answer",
        "summary": "Per-event results (an array for an array request), or an error of the "
        "whole request.",
        "headers": {
            "type": "object",
            "properties": {
                "Qianshou-Status": {
                    **_HEADER,
                    "description": "The HTTP status the same request gets over HTTP "
                    "(200, 400, 403, 409, 413, 422, 503).",
                },
                "Retry-After": {**_HEADER, "description": "Seconds to wait, with a 503."},
            },
            "required": ["Qianshou-Status"],
        },
        "payload": {
            "oneOf": [
                {"$ref": REF.format(model="EventResult")},
                {"type": "array", "items": {"$ref": REF.format(model="EventResult")}},
                {"$ref": REF.format(model="ErrorAnswer")},
            ]
        },
        "examples": [
            {
                "name": "accepted",
                "headers": {"Qianshou-Status": "200"},
                "payload": {"event_id": "b2f5c6de-0001", "status": "accepted", "errors": []},
            }
        ],
    }
    out["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "A parked event",
        "summary": "The message exactly as it was on EVENTS (usually a canonical event; "
        "possibly undecodable), with why it was parked.",
        "headers": {
            "type": "object",
            "properties": {
                deadletters.REASON: {**_HEADER, "description": "the last error"},
                deadletters.SERVICE: {**_HEADER, "description": "the consuming service"},
                deadletters.CONSUMER: {**_HEADER, "description": "its durable consumer"},
                deadletters.STREAM_SEQ: {**_HEADER, "description": "sequence on EVENTS"},
                deadletters.SUBJECT: {**_HEADER, "description": "subject on EVENTS"},
            },
        },
        "payload": {"description": "The original bytes."},
    }
    return out


def canonical_events_types() -> list[str]:
    """Every type that can be on EVENTS (agencies' and the services' own)."""
    return list(canonical_events.json_schema()["discriminator"]["mapping"])


def canonical_example(event: dict[str, Any]) -> dict[str, Any]:
    """An incoming example as it appears on EVENTS: personal data removed, region and
    recording time added."""
    payload = {k: v for k, v in event["payload"].items() if k not in PERSONAL_FIELDS}
    return {
        **event,
        "payload": payload,
        "region_code": "222405",
        "recorded_at": event["occurred_at"],
    }


# -- the document ---------------------------------------------------------------------------

SECURITY_SCHEMES = {
    "agencyUser": {
        "type": "userPassword",
        "description": "Each agency has its own NATS user `agency-<agency_id>` (`qianshou agency "
        f"add ID` makes one). It may publish only under `intake.<agency_id>.>` and subscribe "
        f"only to its inbox `{inbox_prefix('<agency_id>')}.>`: connect with that inbox prefix "
        "(nats.js `inboxPrefix`, nats-py `inbox_prefix`). It cannot read `events.>`, "
        "`reports.>` or `$JS.API.>`.",
    },
    "serviceUser": {
        "type": "userPassword",
        "description": "The services' own NATS users (intake, scheduling, reporting) and "
        "`admin` for operators and provincial consumers of EVENTS and REPORTS.",
    },
}


def _used_schemas(node: Any, definitions: Mapping[str, Any], into: set[str]) -> set[str]:
    """Names of every schema `node` refers to, directly or through other schemas."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in into:
                into.add(name)
                _used_schemas(definitions[name], definitions, into)
        for value in node.values():
            _used_schemas(value, definitions, into)
    elif isinstance(node, list):
        for value in node:
            _used_schemas(value, definitions, into)
    return into


def document(
    service: str,
    description: str,
    nats_url: str,
    operations: Sequence[Operation],
    examples: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of one service's NATS side."""
    all_messages = _messages(examples or {})
    channels: dict[str, Any] = {}
    doc_operations: dict[str, Any] = {}
    for op in operations:
        for channel in (op.channel, op.reply):
            if channel is None or channel.id in channels:
                continue
            channels[channel.id] = {
                "address": channel.address,
                "description": channel.description,
                "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in channel.messages},
                **(
                    {"parameters": {p: PARAMETERS[p] for p in channel.parameters}}
                    if channel.parameters
                    else {}
                ),
            }
        operation: dict[str, Any] = {
            "action": op.action,
            "channel": {"$ref": f"#/channels/{op.channel.id}"},
            "summary": op.summary,
            "security": [{"$ref": f"#/components/securitySchemes/{s}"} for s in op.security],
            "messages": [
                {"$ref": f"#/channels/{op.channel.id}/messages/{m}"} for m in op.channel.messages
            ],
            **({"tags": [{"name": t} for t in op.tags]} if op.tags else {}),
        }
        if op.reply is not None:
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{op.reply.id}"},
                "messages": [
                    {"$ref": f"#/channels/{op.reply.id}/messages/{m}"} for m in op.reply.messages
                ],
            }
        doc_operations[op.id] = operation
    messages = {m: all_messages[m] for channel in channels.values() for m in channel["messages"]}
    definitions = _definitions()
    used = sorted(_used_schemas(messages, definitions, set()))
    host = nats_url.split(",")[0].split("://", 1)[-1].split("@")[-1]
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Qianshou {service}",
            "version": "1.0.0",
            "description": description,
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": host,
                "protocol": "nats",
                "description": "The NATS (JetStream) server or cluster the services share.",
                "security": [
                    {"$ref": f"#/components/securitySchemes/{s}"} for s in SECURITY_SCHEMES
                ],
            }
        },
        "channels": channels,
        "operations": doc_operations,
        "components": {
            "messages": messages,
            "schemas": {name: definitions[name] for name in used},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
