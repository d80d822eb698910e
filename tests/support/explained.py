"""Checking explain against the summary: which figures there are, what each is in a
summary, and what the rows of every page add up to."""

from __future__ import annotations

from typing import Any

from services.reporting.explain import EXPLAINABLE
from services.reporting.kpis import BY_NAME

# The figures that round what they add (staff_days_target to 1 place, hours to 2).
PLACES = {"staff_days_target": 1, "training_hours": 2}


def figures() -> list[tuple[str, str | None]]:
    """Every explainable figure: each KPI, and each cell of a map KPI."""
    out: list[tuple[str, str | None]] = []
    for name in EXPLAINABLE:
        out.append((name, None))
        out += [(name, cell) for cell in BY_NAME[name].cells]
    return out


def figure(summary: dict[str, Any], name: str, key: str | None) -> float:
    """The summary's figure for `name` (its cell `key`; a map's cells summed without one)."""
    value = summary[name]
    if key is not None:
        return float(value.get(key, 0))
    if isinstance(value, dict):
        return float(sum(value.values()))
    if isinstance(value, list):
        return float(len(value))
    return float(value)


def added(name: str, rows: list[dict[str, Any]]) -> float:
    """What the rows add up to, rounded as the figure is."""
    total = sum(row["value"] for row in rows)
    return float(round(total, PLACES[name])) if name in PLACES else float(total)


def label(name: str, key: str | None) -> str:
    return f"{name}.{key}" if key else name
