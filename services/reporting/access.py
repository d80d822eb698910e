"""Who may read which report: a province its region prefix, an agency itself and the
pairings it belongs to, admin everything. Plain logic; the caller supplies the facts."""

from __future__ import annotations

from dataclasses import replace

from services.reporting.summary import Scope
from shared.http import ApiError
from shared.tokens import Principal


def forbid(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def authorize(
    principal: Principal, scope: Scope, pairing_members: set[str] | None, project_owner: str | None
) -> Scope:
    """The scope the principal may read (filled in where it left things open), or 403."""
    if principal.role == "admin":
        return scope
    if principal.role == "province":
        assert principal.region is not None
        if scope.region is None:
            return replace(scope, region=principal.region)
        if not scope.region.startswith(principal.region):
            raise forbid(f"region {scope.region} is outside {principal.region}")
        return scope
    own = principal.agency_id
    if scope.region is not None:
        raise forbid("an agency token cannot read regional reports")
    if scope.agency is not None and scope.agency != own:
        raise forbid(f"agency {scope.agency!r} is not yours")
    if scope.pairing is not None and own not in (pairing_members or set()):
        raise forbid(f"pairing {scope.pairing!r} does not include your agency")
    if scope.project is not None and project_owner != own and scope.pairing is None:
        raise forbid(f"project {scope.project!r} is not yours")
    if scope.agency is None and scope.pairing is None:
        return replace(scope, agency=own)
    return scope
