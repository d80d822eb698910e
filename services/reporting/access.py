"""Who may read which report: a province its region prefix, an agency itself and the
pairings it is a side of, admin everything. Plain logic; the caller supplies the facts."""

from __future__ import annotations

from dataclasses import replace

from services.reporting.summary import Scope
from shared.errors import Forbidden
from shared.tokens import Principal


def authorize(
    principal: Principal,
    scope: Scope,
    pairing_members: set[str] | None,
    project_owner: str | None,
    regions: dict[str, str] | None = None,
    pairing_sides: set[str] | None = None,
) -> Scope:
    """The scope the principal may read (filled in where it left things open), or Forbidden.
    `regions` gives the region of the agencies the scope names (agency, pairing, project).
    An agency reads its own data and the scope of each pairing it is a side of (SPEC 3.6);
    an agency the pairing incubated is not a side."""
    if principal.role == "admin":
        return scope
    if principal.role == "province":
        return _for_province(principal, scope, pairing_members, project_owner, regions or {})
    own = principal.agency_id
    if scope.region is not None:
        raise Forbidden("an agency token cannot read regional reports")
    if scope.agency is not None and scope.agency != own:
        raise Forbidden(f"agency {scope.agency!r} is not yours")
    if scope.pairing is not None and own not in (pairing_sides or set()):
        raise Forbidden(
            f"pairing {scope.pairing!r}: only its two sides, its province and admin read it"
        )
    if scope.project is not None and project_owner != own and scope.pairing is None:
        raise Forbidden(f"project {scope.project!r} is not yours")
    if scope.agency is None and scope.pairing is None:
        return replace(scope, agency=own)
    return scope


def _for_province(
    principal: Principal,
    scope: Scope,
    members: set[str] | None,
    owner: str | None,
    regions: dict[str, str],
) -> Scope:
    """A province reads inside its region prefix only; naming an agency, a pairing or a
    project outside it is 403, not an empty report."""
    mine = principal.region or ""

    def inside(agency_id: str | None) -> bool:
        return agency_id is not None and regions.get(agency_id, "").startswith(mine)

    if scope.region is not None and not scope.region.startswith(mine):
        raise Forbidden(f"region {scope.region} is outside {mine}")
    if scope.agency is not None and not inside(scope.agency):
        raise Forbidden(f"agency {scope.agency!r} is outside {mine}")
    if scope.pairing is not None and not any(inside(a) for a in members or ()):
        raise Forbidden(f"pairing {scope.pairing!r} has no agency in {mine}")
    if scope.project is not None and not inside(owner):
        raise Forbidden(f"project {scope.project!r} is outside {mine}")
    return scope if scope.region is not None else replace(scope, region=mine)
