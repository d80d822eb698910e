"""A reader who subtracts: what someone holding a suppressed report can work out.

Written apart from services/reporting/disclosure.py on purpose (its own list of the
equations a reader forms), so that a relation the service forgets is still attacked here.
The reader sees the published cells; "<5" cells and figures never published (workers
without a licence, this month's stock minus last month's) are unknowns. It takes each
equation alone and every pair of equations that share an unknown (one subtracted from the
other so that the shared unknown cancels), and bounds each unknown knowing only that a
hidden cell is at least 1 and a derived one at least 0. It does not take "<5" to mean at
most 4: a "<5" may be a larger cell hidden to protect a small one.

It reports a leak when it pins a cell of 1 to 4 (hidden or derived) to one value or to
within 1..4, or pins a hidden cell of any size to one value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Cell = tuple[int, str, str]  # (line: 0 the report's own, 1.. breakdown lines; figure; key)
Equation = dict[Cell, int]  # sum(coefficient * value) == 0
HIDDEN = "<5"

# What a reader knows without being told: parts of wholes, maps with a total, stocks.
PART_OF = {
    "workers_licensed": "workers_total",
    "clients_in_difficulty": "clients_registered",
    "visits_overdue": "visits_scheduled",
}
MAP_PART_OF = {"clients_served_by_service": "clients_served"}
STOCKS = {"workers_total", "workers_licensed", "clients_registered", "clients_in_difficulty"}
COUNTS = (
    "workers_total",
    "workers_licensed",
    "clients_registered",
    "clients_in_difficulty",
    "clients_served",
    "visit_minutes",
    "training_attendances",
    "visits_scheduled",
    "visits_overdue",
)
MAPS = ("clients_served_by_service", "visits_by_service", "activity_attendance_by_kind")


@dataclass(frozen=True)
class Leak:
    cell: Cell
    truth: int
    low: float
    high: float
    how: str


def lines_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [body, *(line["summary"] for line in body.get("breakdown") or [])]


def cells(body: dict[str, Any]) -> dict[Cell, Any]:
    """Every figure of the report as the reader sees it ("<5", or a number), derived
    figures included as None (unknown) once their parts are known to the caller."""
    seen: dict[Cell, Any] = {}
    for n, kpis in enumerate(lines_of(body)):
        for name in COUNTS:
            if name in kpis:
                seen[(n, name, "")] = kpis[name]
        for name in MAPS:
            for key, value in kpis.get(name, {}).items():
                seen[(n, name, key)] = value
    return seen


def keys(body: dict[str, Any], name: str) -> set[str]:
    return {k for kpis in lines_of(body) for k in kpis.get(name, {})}


def equations(body: dict[str, Any]) -> list[Equation]:
    """The equations a reader forms between the report's figures (derived ones included)."""
    out: list[Equation] = []
    lines = lines_of(body)
    series: set[tuple[str, str]] = set()
    for n in range(len(lines)):
        for part, whole in PART_OF.items():
            rest = f"{whole} without {part}"
            out.append({(n, whole, ""): 1, (n, part, ""): -1, (n, rest, ""): -1})
            series |= {(whole, ""), (part, ""), (rest, "")}
        for name, whole in MAP_PART_OF.items():
            total: Equation = {(n, whole, ""): 1}
            for key in keys(body, name):
                rest = f"{whole} without {name}"
                out.append({(n, whole, ""): 1, (n, name, key): -1, (n, rest, key): -1})
                total[(n, name, key)] = -1
                series |= {(name, key), (rest, key)}
            out.append(total)
        series |= {(name, "") for name in COUNTS}
        series |= {(name, key) for name in MAPS for key in keys(body, name)}
    breakdown = body.get("breakdown") or []
    by_period = bool(breakdown) and "period" in breakdown[0]
    for name, key in sorted(series):
        stock = by_period and (name in STOCKS or name.split(" without ")[0] in STOCKS)
        if not breakdown:
            continue
        if stock:
            out.append({(0, name, key): 1, (len(lines) - 1, name, key): -1})
            for n in range(2, len(lines)):
                added = (n, f"{name} added", key)
                out.append({(n, name, key): 1, (n - 1, name, key): -1, added: -1})
        else:
            total = {(0, name, key): 1}
            total.update({(n, name, key): -1 for n in range(1, len(lines))})
            out.append(total)
    return out


def truth(body: dict[str, Any], equations_: list[Equation]) -> dict[Cell, int]:
    """The true value of every cell the equations name (derived ones worked out)."""
    known: dict[Cell, int] = dict(cells(body))
    for n in range(len(lines_of(body))):  # absent map keys are zeros
        for name in MAPS:
            for key in keys(body, name):
                known.setdefault((n, name, key), 0)
    for eq in equations_:  # each derived cell is the last term of the equation defining it
        missing = [c for c in eq if c not in known]
        if len(missing) == 1:
            cell = missing[0]
            known[cell] = -sum(c * known[x] for x, c in eq.items() if x != cell) * eq[cell]
    return known


def _bounds(
    eq: Equation,
    cell: Cell,
    shown: dict[Cell, int],
    ranges: dict[Cell, tuple[float, float]],
) -> tuple[float, float]:
    """coefficient * cell = −(the other terms); each unknown term lies within its range."""
    low = high = 0.0  # bounds of the sum of the other terms
    for other, c in eq.items():
        if other == cell:
            continue
        if other in shown:
            low += c * shown[other]
            high += c * shown[other]
        else:
            least, most = sorted((c * ranges[other][0], c * ranges[other][1]))
            low += least
            high += most
    k = eq[cell]
    return (-high / k, -low / k) if k > 0 else (-low / k, -high / k)


def _pairs(found: list[Equation], unknown: set[Cell]) -> list[tuple[Equation, str]]:
    """Each equation, and each pair sharing an unknown with that unknown cancelled."""
    out = [(eq, "alone") for eq in found]
    having: dict[Cell, list[int]] = {}
    for i, eq in enumerate(found):
        for cell in eq:
            if cell in unknown:
                having.setdefault(cell, []).append(i)
    done: set[tuple[int, int]] = set()
    for cell, where in having.items():
        for a in where:
            for b in where:
                if a >= b or (a, b) in done:
                    continue
                done.add((a, b))
                first, second = found[a], found[b]
                both: Equation = {}
                for x in set(first) | set(second):
                    both[x] = first.get(x, 0) * second[cell] - second.get(x, 0) * first[cell]
                both = {x: c for x, c in both.items() if c}
                if both:
                    out.append((both, f"pair over {cell}"))
    return out


def attack(body: dict[str, Any], true_body: dict[str, Any]) -> list[Leak]:
    """Every cell of 1 to 4 (hidden or derived) a reader works out exactly or shows to be
    at most 4 from differences, and every hidden cell worked out exactly."""
    found = equations(true_body)
    values = truth(true_body, found)
    seen = cells(body)
    shown = {c: v for c, v in seen.items() if v != HIDDEN}
    for n in range(len(lines_of(body))):  # a map's absent key is a shown 0
        for name in MAPS:
            for key in keys(true_body, name):
                if (n, name, key) not in seen:
                    shown[(n, name, key)] = 0
    hidden = {c for c, v in seen.items() if v == HIDDEN}
    unknown = {c for eq in found for c in eq if c not in shown}
    sound = {c: (1.0 if c in hidden else 0.0, math.inf) for c in unknown}
    leaks: list[Leak] = []
    for eq, how in _pairs(found, unknown):
        for cell in eq:
            if cell not in unknown:
                continue
            value = values[cell]
            small = 1 <= abs(value) <= 4
            lo, hi = _bounds(eq, cell, shown, sound)
            lo = max(lo, sound[cell][0])
            if lo == hi and (small or cell in hidden):
                leaks.append(Leak(cell, value, lo, hi, f"exact, {how}: {eq}"))
            elif small and 1 <= lo and hi <= 4:
                leaks.append(Leak(cell, value, lo, hi, f"within 1..4, {how}: {eq}"))
    return leaks
