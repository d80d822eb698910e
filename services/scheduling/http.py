"""Scheduling's HTTP routes: care plans, visit slots, workers' schedules, dispatch pace.
Every route needs a bearer token; reads are scoped to what the caller may see."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.scheduling.requests import CarePlanIn
from services.scheduling.schemas import CarePlan, DispatchPace, Visits, WorkerSchedule
from services.scheduling.usecases import Scheduling
from shared.errors import Invalid, Malformed
from shared.http import bearer_principal, json_response
from shared.openapi import AUTHENTICATED, error_responses, inline_schema
from shared.tokens import Principal
from shared.validation import decode_json, field_errors

router = APIRouter(prefix="/v1", tags=["scheduling"], responses=error_responses(*AUTHENTICATED))
PAIRING_SCOPE = "The pairing scope (SPEC 3.6): its sides, its province, admin"
Status = Literal["due", "overdue", "done", "unassigned", "cancelled"]


def _service(request: Request) -> tuple[Scheduling, Principal]:
    """Authenticate first: a caller without a token learns nothing, not even a 422."""
    principal = bearer_principal(request, request.app.state.token_secrets)
    return request.app.state.scheduling, principal


@router.post(
    "/care-plans",
    status_code=201,
    summary="Create a care plan; its visit slots are made and assigned up to the horizon",
    response_model=CarePlan,
    responses={
        200: {"model": CarePlan, "description": "The same plan_id and body again: the plan."},
        **error_responses(400, 403, 409),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(CarePlanIn)}},
        }
    },
)
async def post_care_plan(request: Request) -> Response:
    scheduling, principal = _service(request)
    try:
        raw = decode_json(await request.body())
    except ValueError as exc:
        raise Malformed(str(exc)) from exc
    try:
        body = CarePlanIn.model_validate(raw)
    except ValidationError as exc:
        raise Invalid("invalid care plan", field_errors(exc, None)) from exc
    status, answer = await scheduling.create_plan(principal, body)
    return json_response(answer, status)


@router.get(
    "/visits",
    summary="Visit slots by status, agency, pairing scope and China-time dates",
    response_model=Visits,
    responses=error_responses(403),
)
async def get_visits(
    request: Request,
    status: Annotated[Status | None, Query()] = None,
    agency: Annotated[str | None, Query()] = None,
    pairing: Annotated[str | None, Query(description=PAIRING_SCOPE)] = None,
    day_from: Annotated[date | None, Query(alias="from")] = None,
    day_to: Annotated[date | None, Query(alias="to")] = None,
    client: Annotated[str | None, Query()] = None,
    plan: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    scheduling, principal = _service(request)
    slots = await scheduling.visits(
        principal, agency, pairing, status=status, day_from=day_from, day_to=day_to,
        client_id=client, plan_id=plan, limit=limit,
    )  # fmt: skip
    return json_response({"visits": slots, "count": len(slots)})


@router.get(
    "/workers/{worker_id}/schedule",
    summary="A worker's slots (default: four weeks)",
    response_model=WorkerSchedule,
    responses=error_responses(400, 403, 404),
)
async def get_worker_schedule(
    request: Request,
    worker_id: str,
    agency: Annotated[str | None, Query()] = None,
    pairing: Annotated[str | None, Query(description=PAIRING_SCOPE)] = None,
    day_from: Annotated[date | None, Query(alias="from")] = None,
    day_to: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    scheduling, principal = _service(request)
    answer = await scheduling.worker_schedule(
        principal, worker_id, agency, day_from, day_to, pairing
    )
    return json_response(answer)


@router.get(
    "/pairings/{pairing_id}/dispatch",
    summary="Staff-days dispatched per programme year against the target, and the pace",
    response_model=DispatchPace,
    responses=error_responses(403, 404),
)
async def get_dispatch_pace(
    request: Request, pairing_id: str, as_of: Annotated[date | None, Query()] = None
) -> Response:
    scheduling, principal = _service(request)
    return json_response(await scheduling.dispatch_pace(principal, pairing_id, as_of))
