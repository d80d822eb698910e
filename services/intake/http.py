"""Intake's HTTP routes: POST /v1/events, GET /v1/events/{event_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.intake import domain
from services.intake.schemas import Erased, EventRecord, EventResults, PersonalData
from services.intake.usecases import Intake
from shared.answers import EventResult
from shared.errors import TooLarge
from shared.examples import one_of_each
from shared.http import bearer_principal, json_response
from shared.openapi import AUTHENTICATED, error_responses

MAX_BODY_BYTES = 4 * 1024 * 1024  # a thousand events with room to spare

router = APIRouter(prefix="/v1", tags=["events"], responses=error_responses(*AUTHENTICATED))
clients_router = APIRouter(
    prefix="/v1/clients", tags=["personal data"], responses=error_responses(*AUTHENTICATED)
)
_EXAMPLES = one_of_each()


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/events",
    summary="Submit one event or an array of up to 1,000",
    description="Each event gets its own result: accepted, duplicate (same id, same "
    "content), conflict (same id, other content) or rejected (with each error's code and "
    "field path). The answer is 200 unless every event was rejected (422, the results) or a "
    "lone event conflicts (409, its result); errors of the request as a whole (400, 403, "
    "413, 503) have the error shape.",
    response_model=EventResults,
    responses={
        **error_responses(400, 403, 413),
        409: {"model": EventResult, "description": "A lone event conflicts with a stored one."},
        422: {"model": EventResults, "description": "Every event was rejected."},
    },
    # The body is read raw (to refuse an oversized one before reading it all, and to
    # answer per event), so its schema is documented here rather than parsed by FastAPI.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/IncomingEvent"},
                            {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/IncomingEvent"},
                                "minItems": 1,
                                "maxItems": 1000,
                            },
                        ]
                    },
                    # From the reference programme (SPEC 1): its first events.
                    "examples": {
                        "visit": {"value": _EXAMPLES["visit-logged"]},
                        "registration": {"value": _EXAMPLES["agency-registered"]},
                        "batch": {
                            "value": [
                                _EXAMPLES["agency-registered"],
                                _EXAMPLES["worker-registered"],
                            ]
                        },
                    },
                }
            },
        }
    },
)
async def post_events(request: Request) -> Response:
    intake: Intake = request.app.state.intake
    principal = bearer_principal(request, request.app.state.token_secrets)
    body = await _read_limited(request, MAX_BODY_BYTES)
    if body is None:
        raise TooLarge(f"request body over {MAX_BODY_BYTES} bytes")
    status, answer = domain.answer(await intake.submit(body, principal))
    return json_response(answer, status)


@router.get(
    "/events/{event_id}",
    summary="An event's record and whether it reached EVENTS",
    response_model=EventRecord,
    responses=error_responses(400, 403, 404),
)
async def get_event(
    request: Request, event_id: str, agency: Annotated[str | None, Query()] = None
) -> Response:
    intake: Intake = request.app.state.intake
    principal = bearer_principal(request, request.app.state.token_secrets)
    return json_response(await intake.lookup(principal, event_id, agency))


Reason = Annotated[
    str, Query(min_length=3, max_length=500, description="why it is needed (audited)")
]


@clients_router.get(
    "/{client_id}/personal-data",
    summary="A client's name, ID number and phone (audited)",
    response_model=PersonalData,
    responses=error_responses(403, 404, 410),
)
async def get_personal_data(request: Request, client_id: str, reason: Reason) -> Response:
    intake: Intake = request.app.state.intake
    principal = bearer_principal(request, request.app.state.token_secrets)
    return json_response(await intake.personal_data(principal, client_id, reason))


class Erasure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=3, max_length=500)]


@clients_router.post(
    "/{client_id}/erasure",
    summary="Erase a client's personal data (crypto-shredding)",
    response_model=Erased,
    responses=error_responses(403, 404),
)
async def erase_client(request: Request, client_id: str, body: Erasure) -> Response:
    intake: Intake = request.app.state.intake
    principal = bearer_principal(request, request.app.state.token_secrets)
    return json_response(await intake.erase(principal, client_id, body.reason))
