"""Approving a period (SPEC 3.9), as plain rules: who may approve what, the approved
figures' canonical form and fingerprint, an approval's id, and what changed since.
No I/O: the caller reads the facts and the figures."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from services.reporting.kpis import KPIS
from shared.errors import Forbidden, field_error
from shared.tokens import Principal

# The summary's `as_of` is when the figures stood, not a figure: it is the approval's
# watermark, and leaving it out keeps the fingerprint of unchanged figures unchanged.
NOT_FIGURES = ("as_of",)


def figures_of(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of a summary that an approval signs: every KPI but `as_of`."""
    return {k.name: summary[k.name] for k in KPIS if k.name not in NOT_FIGURES}


def canonical(figures: Mapping[str, Any]) -> bytes:
    """The one byte form of a set of figures: JSON with sorted keys, no spaces."""
    return orjson.dumps(figures, option=orjson.OPT_SORT_KEYS)


def fingerprint(figures: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(figures)).hexdigest()


def approval_id(
    scope: Mapping[str, str],
    start: str,
    end: str,
    prints: str,
    approver: str,
    supersedes: str | None,
) -> str:
    """Derived from what is approved, so approving the same figures again (a retry after
    a lost answer) is the same approval, and the stream drops the repeat."""
    key = orjson.dumps(
        [scope, start, end, prints, approver, supersedes], option=orjson.OPT_SORT_KEYS
    )
    return "approval-" + hashlib.sha256(key).hexdigest()[:32]


def approver_of(principal: Principal) -> str:
    return principal.region or "admin"


def may_approve(principal: Principal, region: str | None, sides: Iterable[str | None] = ()) -> None:
    """A province approves inside its region prefix (a region that starts with it, or a
    pairing whose two sides' regions do); admin anything; an agency nothing."""
    if principal.role == "admin":
        return
    if principal.role != "province":
        raise Forbidden(
            "an agency cannot approve a period: a province approves its region, admin any",
            [field_error("scope", "approve with a province or admin token", "forbidden_scope")],
        )
    mine = principal.region or ""
    if region is not None:
        if not region.startswith(mine):
            raise Forbidden(
                f"region {region} is outside {mine}: a province approves only its own region",
                [field_error("scope.region", f"a region starting with {mine}", "forbidden_scope")],
            )
        return
    found = list(sides)
    if not found or not all(code and code.startswith(mine) for code in found):
        raise Forbidden(
            f"the pairing is not inside {mine}: a province approves a pairing whose two "
            "sides are in its region",
            [field_error("scope.pairing", f"a pairing inside {mine}", "forbidden_scope")],
        )


def difference(approved: Mapping[str, Any], today: Mapping[str, Any]) -> dict[str, Any]:
    """Per KPI that changed: the change from the approved figure to today's (a number, a
    map of numbers by key, or the milestones added and removed)."""
    out: dict[str, Any] = {}
    for kpi in KPIS:
        if kpi.name in NOT_FIGURES:
            continue
        before, after = approved.get(kpi.name), today.get(kpi.name)
        if before == after:
            continue
        if kpi.shape == "map" or kpi.name == "agencies":
            out[kpi.name] = _map_change(before or {}, after or {})
        elif kpi.shape == "list":
            out[kpi.name] = {
                "added": [x for x in after or [] if x not in (before or [])],
                "removed": [x for x in before or [] if x not in (after or [])],
            }
        elif isinstance(before, int | float) and isinstance(after, int | float):
            out[kpi.name] = _number(after - before)
        else:
            out[kpi.name] = {"approved": before, "today": after}
    return out


def _map_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    keys = sorted(set(before) | set(after))
    changes = {k: _number(after.get(k, 0) - before.get(k, 0)) for k in keys}
    return {k: v for k, v in changes.items() if v}


def _number(value: float) -> float | int:
    return round(value, 4) if isinstance(value, float) else value
