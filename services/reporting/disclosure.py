"""What a reader can work out from a report by subtraction: the relations between its cells.

A report (a summary and its breakdown lines) publishes cells that are tied to each other by
equations a reader knows without being told: a part and its whole (licensed workers are
some of the workers), a map's cells and their total, the lines of a breakdown and the
report's own line, and a stock figure in consecutive periods (this month's workers are
last month's plus the new ones). Each such equation is a `Relation`; suppression
(suppression.py) hides cells until no relation gives a small one away.

Some cells of an equation are never published but are just as easy to work out: workers
without a licence (workers − licensed), the workers registered in a month (this month's
stock − last month's). These are *derived* cells: a reader gets them by subtraction, so a
derived cell of 1 to 4 must be protected like a published one.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from services.reporting.kpis import BY_NAME, MAPS, SUPPRESSIBLE

# A cell: (line, name, key). Line 0 is the report's own line, 1.. its breakdown lines in
# order; name a KPI or a derived figure; key a map's key, or "" for a single figure.
Cell = tuple[int, str, str]
INF = math.inf


@dataclass(frozen=True)
class Relation:
    """sum(coefficient * value) == 0 over some cells of one report (coefficients are ±1)."""

    terms: tuple[tuple[Cell, int], ...]
    what: str  # how a reader forms it, for a person reading a test failure
    cells: tuple[Cell, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cells", tuple(cell for cell, _ in self.terms))


@dataclass
class Table:
    """The cells of one report that suppression may hide or a reader may derive."""

    values: dict[Cell, int] = field(default_factory=dict)  # published and derived alike
    derived: set[Cell] = field(default_factory=set)  # no one publishes these
    relations: list[Relation] = field(default_factory=list)

    @cached_property
    def relations_of(self) -> dict[Cell, list[Relation]]:
        """The relations each cell is in (once the table is built)."""
        found: dict[Cell, list[Relation]] = defaultdict(list)
        for relation in self.relations:
            for cell in relation.cells:
                found[cell].append(relation)
        return found

    def floor(self, cell: Cell) -> float:
        """The least a reader knows a cell to be: a hidden cell is not 0 ("zero stays
        zero"), a derived one (the rest of a whole, a stock's growth) is at least 0."""
        return 0.0 if cell in self.derived else 1.0

    def derive(self, cell: Cell, whole: Cell, part: Cell, what: str) -> None:
        """Record `cell` = `whole` − `part`, as a reader computes it."""
        self.values[cell] = self.values[whole] - self.values[part]
        self.derived.add(cell)
        self.relations.append(Relation(((whole, 1), (part, -1), (cell, -1)), what))


def summaries(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's own line, then its breakdown lines' summaries (line numbers of cells)."""
    return [body, *(line["summary"] for line in body.get("breakdown") or [])]


def table(body: dict[str, Any]) -> Table:
    """Every cell that may be hidden, and every relation a reader can form between them."""
    found = Table()
    lines = summaries(body)
    stocks: set[str] = set()  # names (KPIs and derived figures) that are stocks
    for n, kpis in enumerate(lines):
        _cells_of(found, n, kpis)
        _parts_and_wholes(found, n, kpis, stocks)
    breakdown = body.get("breakdown") or []
    by_period = bool(breakdown) and "period" in breakdown[0]
    series = sorted({(name, key) for (n, name, key) in found.values if n == 0})
    for name, key in series:
        if not all((n, name, key) in found.values for n in range(len(lines))):
            continue  # a figure some line lacks (a partial summary in a test): no relation
        if by_period and name in stocks:
            _consecutive_stocks(found, len(lines), name, key)
        elif len(lines) > 1:
            terms = (((0, name, key), 1), *(((n, name, key), -1) for n in range(1, len(lines))))
            found.relations.append(Relation(terms, f"{name}[{key}]: the lines add up"))
    return found


def _cells_of(found: Table, n: int, kpis: dict[str, Any]) -> None:
    """The hideable cells of one summary; a map's absent key is a published 0."""
    for name in SUPPRESSIBLE:
        value = kpis.get(name)
        if isinstance(value, dict):
            for key in (*MAPS[name], *(k for k in value if k not in MAPS[name])):
                found.values[(n, name, key)] = _count(value.get(key, 0))
        elif isinstance(value, int) and not isinstance(value, bool):
            found.values[(n, name, "")] = value


def _parts_and_wholes(found: Table, n: int, kpis: dict[str, Any], stocks: set[str]) -> None:
    """A part and its whole give the rest (whole − part); a map's cells add up to it."""
    for name in SUPPRESSIBLE:
        kpi = BY_NAME[name]
        if kpi.stock:
            stocks.add(name)
        whole = kpi.part_of
        if whole is None or (n, whole, "") not in found.values or name not in kpis:
            continue
        rest = f"{whole} - {name}"
        if BY_NAME[whole].stock:
            stocks.add(rest)
        if kpi.shape != "map":
            if (n, name, "") not in found.values:
                continue  # not a count here (a partial summary in a test)
            found.derive((n, rest, ""), (n, whole, ""), (n, name, ""), f"{rest} on line {n}")
            continue
        keys = [k for (line, cell, k) in found.values if line == n and cell == name]
        for key in keys:
            found.derive((n, rest, key), (n, whole, ""), (n, name, key), f"{rest}[{key}]")
        # Clients are counted once overall and once per service they had; a reader takes
        # the services' cells to add up to the whole (true when each had one service).
        found.relations.append(
            Relation(
                (((n, whole, ""), 1), *(((n, name, key), -1) for key in keys)),
                f"{name} on line {n} adds up to {whole}",
            )
        )


def _consecutive_stocks(found: Table, count: int, name: str, key: str) -> None:
    """A stock by period: the last line is the report's own figure, and each line is the
    one before plus what the period added (a derived cell)."""
    found.relations.append(
        Relation((((0, name, key), 1), ((count - 1, name, key), -1)), f"{name}: last line")
    )
    for n in range(2, count):
        added = (n, f"{name} added", key)
        found.derive(added, (n, name, key), (n - 1, name, key), f"{name}[{key}] added on {n}")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def narrowed(found: Table, hidden: set[Cell], passes: int = 30) -> dict[Cell, tuple[float, float]]:
    """What a reader knows of each cell not shown, from all relations together: an
    interval, narrowed by one relation at a time (from the other cells' intervals) until
    nothing narrows any more, or `passes` rounds over the relations have been spent."""
    ranges = {c: (found.floor(c), INF) for c in found.values if c in hidden or c in found.derived}
    relations_of = found.relations_of
    todo = deque(r for r in found.relations if any(c in ranges for c in r.cells))
    queued = {id(r) for r in todo}
    budget = passes * len(found.relations)
    while todo and budget > 0:
        budget -= 1
        relation = todo.popleft()
        queued.discard(id(relation))
        for cell, (low, high) in intervals(relation, found.values, ranges).items():
            old_low, old_high = ranges[cell]
            # Counts are whole numbers: a reader rounds inwards.
            new = (
                max(old_low, math.ceil(low) if math.isfinite(low) else low),
                min(old_high, math.floor(high) if math.isfinite(high) else high),
            )
            if new[0] > new[1] or new == (old_low, old_high):
                continue  # nothing new (or the reader's assumptions fail here: no inference)
            ranges[cell] = new
            for other in relations_of[cell]:
                if id(other) not in queued:
                    queued.add(id(other))
                    todo.append(other)
    return ranges


def intervals(
    relation: Relation, values: dict[Cell, int], ranges: dict[Cell, tuple[float, float]]
) -> dict[Cell, tuple[float, float]]:
    """The values each cell in `ranges` can take by `relation` alone, for a reader who sees
    every other cell and knows only that each of those in `ranges` lies in its interval.
    (The other terms' least and most sums are kept as a finite part and a count of
    infinite ones, so that each cell's own term can be taken out again.)"""
    shown = sum(c * values[cell] for cell, c in relation.terms if cell not in ranges)
    terms = []
    for cell, c in relation.terms:
        if cell in ranges:
            low, high = ranges[cell]
            terms.append((cell, c, *((c * low, c * high) if c > 0 else (c * high, c * low))))
    least = sum(t[2] for t in terms if math.isfinite(t[2]))
    most = sum(t[3] for t in terms if math.isfinite(t[3]))
    least_inf = sum(1 for t in terms if not math.isfinite(t[2]))
    most_inf = sum(1 for t in terms if not math.isfinite(t[3]))
    out = {}
    for cell, c, own_least, own_most in terms:
        if least_inf - (not math.isfinite(own_least)) > 0:
            others_least = -INF
        else:
            others_least = least - (own_least if math.isfinite(own_least) else 0)
        if most_inf - (not math.isfinite(own_most)) > 0:
            others_most = INF
        else:
            others_most = most - (own_most if math.isfinite(own_most) else 0)
        # c * cell = −shown − (the others), so it lies in:
        low, high = -shown - others_most, -shown - others_least
        out[cell] = (low, high) if c > 0 else (-high, -low)
    return out
