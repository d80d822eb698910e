"""The approval routes (SPEC 3.9): POST /v1/approvals, GET /v1/approvals, GET one."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.reporting.approvals.schemas import (
    ApprovalDetail,
    ApprovalRequest,
    Approvals,
    Published,
)
from services.reporting.approvals.usecases import Approvals as Approving
from shared.errors import Invalid, NotFound, field_error
from shared.events import IDENT_PATTERN, REGION_PREFIX_PATTERN
from shared.http import bearer_principal, json_response
from shared.openapi import AUTHENTICATED, error_responses
from shared.tokens import Principal

router = APIRouter(
    prefix="/v1/approvals", tags=["approvals"], responses=error_responses(*AUTHENTICATED)
)


def _caller(request: Request) -> tuple[Approving, Principal]:
    principal = bearer_principal(request, request.app.state.token_secrets)
    return Approving(request.app.state.reports), principal


@router.post(
    "",
    status_code=201,
    summary="Approve a region's or a pairing's figures for a period (province or admin)",
    response_model=Published,
    responses={
        200: {"model": Published, "description": "these figures are the approval in force"},
        **error_responses(403, 404),
    },
)
async def post_approvals(request: Request, body: ApprovalRequest) -> Response:
    approvals, principal = _caller(request)
    if body.to < body.from_:
        raise Invalid("from is after to", [field_error("from", "from is after to")])
    approved, published = await approvals.approve(principal, body.scope, body.from_, body.to)
    return json_response(approved, 201 if published else 200)


@router.get(
    "",
    summary="A region's or a pairing's approvals, newest first, superseded ones marked",
    response_model=Approvals,
    responses=error_responses(403),
)
async def get_approvals(
    request: Request,
    region: Annotated[str | None, Query(pattern=REGION_PREFIX_PATTERN)] = None,
    pairing: Annotated[str | None, Query(pattern=IDENT_PATTERN)] = None,
) -> Response:
    approvals, principal = _caller(request)
    if (region is None) == (pairing is None):
        raise Invalid(
            "name exactly one of region and pairing",
            [field_error("region", "region or pairing", "missing_field")],
        )
    return json_response(await approvals.listing(principal, region, pairing))


@router.get(
    "/{approval_id}",
    summary="An approval: the approved figures, today's, the difference and the late events",
    response_model=ApprovalDetail,
    responses=error_responses(403, 404),
)
async def get_approval(request: Request, approval_id: str) -> Response:
    approvals, principal = _caller(request)
    if not re.fullmatch(IDENT_PATTERN, approval_id):
        raise NotFound("no such approval")
    return json_response(await approvals.show(principal, approval_id))
