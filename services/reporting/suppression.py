"""Small-cell suppression for reports that leave the department (docs/security.md).

Primary: a count of people (a KPI the registry marks `people`) from 1 to 4 is hidden, and
so is a sum over such a count (the minutes of 1 to 4 visits). Zero stays zero: it reveals
no one. A rate built from a hidden count is hidden.

Complementary: a reader subtracts. disclosure.py writes down every relation a reader can
form between the report's cells (a part and its whole, a map and its total, breakdown
lines and the report's own line, a stock in consecutive periods). A relation gives a
cell away when a reader, knowing only that a hidden cell is at least 1 and a derived one
(workers − licensed) at least 0 (a "<5" may be a larger cell hidden to protect a small
one), works out a hidden cell exactly, or a small cell (1 to 4, hidden or derived)
exactly or to within 1..4. Then, plainly:
 1. relation by relation, while one gives a cell away, hide its smallest non-zero shown
    cell (here also for a reader who takes every "<5" at its word: at most 4);
 2. with all relations together (disclosure.narrowed), while a cell is still given away,
    hide the smallest non-zero shown cell of a relation it is in; back to 1.
Each step hides one more cell, so it ends. tests/unit/test_suppression.py attacks the
result with every relation and every pair of relations.

Every hidden cell reads "<5", the second cells too: a reader cannot tell which are small.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterable
from typing import Any

from services.reporting.disclosure import (
    INF,
    Cell,
    Relation,
    Table,
    intervals,
    narrowed,
    summaries,
    table,
)
from services.reporting.kpis import BY_NAME, KPIS, RATES

HIDDEN = "<5"
SMALL = range(1, 5)  # counts of 1 to 4 people are never shown
NOTE = (
    "counts of 1 to 4 people (and minutes of 1 to 4 visits) shown as <5, and as many other"
    " cells as needed so that no subtraction between shown figures gives one away"
)


def suppress_report(body: dict[str, Any]) -> dict[str, Any]:
    """A whole summary response (with its breakdown lines, if any) ready to leave."""
    out = _suppressed(body)
    out["suppression"] = NOTE
    return out


def suppress_kpis(kpis: dict[str, Any]) -> dict[str, Any]:
    """A copy of one summary (without breakdown) with its small cells hidden."""
    return _suppressed({k: v for k, v in kpis.items() if k != "breakdown"})


def _suppressed(body: dict[str, Any]) -> dict[str, Any]:
    cells = table(body)
    hidden = _protect(cells, _primary(cells, body))
    out = copy.deepcopy(body)
    lines = summaries(out)
    for n, name, key in hidden:
        if key:
            lines[n][name][key] = HIDDEN
        else:
            lines[n][name] = HIDDEN
    for kpis in lines:
        for rate in RATES:
            if rate.rate_of and HIDDEN in (kpis.get(rate.rate_of[0]), kpis.get(rate.rate_of[1])):
                kpis[rate.name] = None
    return out


def _primary(cells: Table, body: dict[str, Any]) -> set[Cell]:
    """Counts of 1 to 4 people, and sums over 1 to 4 of them (minutes of visits)."""
    hidden = {
        cell
        for cell, value in cells.values.items()
        if cell not in cells.derived and BY_NAME[cell[1]].people and value in SMALL
    }
    for n, kpis in enumerate(summaries(body)):
        for kpi in KPIS:
            counted = kpis.get(kpi.sums_over) if kpi.sums_over else None
            if (n, kpi.name, "") in cells.values and isinstance(counted, dict):
                if sum(counted.values()) in SMALL:
                    hidden.add((n, kpi.name, ""))
    return hidden


def _protect(cells: Table, hidden: set[Cell]) -> set[Cell]:
    """Hide more cells until no relation gives one away, alone or with the others."""
    hidden = _relation_by_relation(cells, set(hidden))
    while True:
        leaking = _leaking(cells, hidden, narrowed(cells, hidden))
        touched: set[Cell] = set()  # near a cell hidden in this round: look again next round
        for cell in leaking:
            if cell in touched:
                continue
            second = _nearest_shown(cells, cell, hidden)
            if second is not None:
                hidden.add(second)
                touched |= {c for r in cells.relations_of[second] for c in r.cells}
        if not touched:
            return hidden  # nothing leaks (or nothing is left to hide near what does)
        hidden = _relation_by_relation(cells, hidden)


def _relation_by_relation(cells: Table, hidden: set[Cell]) -> set[Cell]:
    """The plain rule: while a relation gives a cell away by itself, hide its smallest
    non-zero shown cell."""
    relations_of = cells.relations_of
    todo = deque(cells.relations)
    while todo:
        relation = todo.popleft()
        if not _gives_away(relation, cells, hidden):
            continue
        shown = _shown(cells, relation.cells, hidden)
        if not shown:
            continue  # every non-zero cell of it is hidden already: it gives nothing away
        _, cell = min(shown)
        hidden.add(cell)
        todo.extend(relations_of[cell])  # this relation among them: it may need another
    return hidden


def _shown(cells: Table, among: Iterable[Cell], hidden: set[Cell]) -> list[tuple[int, Cell]]:
    """The shown non-zero cells among these, with their values (zero is never hidden)."""
    return [
        (cells.values[c], c)
        for c in among
        if c not in hidden and c not in cells.derived and cells.values[c] != 0
    ]


def _leaking(cells: Table, hidden: set[Cell], known: dict[Cell, tuple[float, float]]) -> list[Cell]:
    """Cells a reader pins down using every relation together: a hidden cell exactly, a
    small one (1 to 4) exactly or to within 1 to 4."""
    out = []
    for cell, (low, high) in sorted(known.items()):
        small = abs(cells.values[cell]) in SMALL
        if (low == high and (small or cell in hidden)) or (
            small and min(SMALL) <= low and high <= max(SMALL)
        ):
            out.append(cell)
    return out


def _nearest_shown(cells: Table, cell: Cell, hidden: set[Cell]) -> Cell | None:
    """The smallest shown non-zero cell of the relations `cell` is in; if they have none,
    of the relations their other unknown cells are in, and so on outwards."""
    relations_of = cells.relations_of
    seen, frontier = {cell}, [cell]
    while frontier:
        among = [c for f in frontier for r in relations_of[f] for c in r.cells]
        shown = _shown(cells, among, hidden)
        if shown:
            return min(shown)[1]
        unknown = (c for c in among if c in hidden or c in cells.derived)
        frontier = [c for c in dict.fromkeys(unknown) if c not in seen]
        seen |= set(frontier)
    return None


def _gives_away(relation: Relation, cells: Table, hidden: set[Cell]) -> bool:
    """Whether a reader of the shown cells learns too much from this relation alone."""
    unknown = [c for c in relation.cells if c in hidden or c in cells.derived]
    sound = {c: (cells.floor(c), INF) for c in unknown}
    trusting = {c: (cells.floor(c), INF if c in cells.derived else 4.0) for c in unknown}
    by_sound = intervals(relation, cells.values, sound)
    by_trust = intervals(relation, cells.values, trusting)
    for cell in unknown:
        value = cells.values[cell]
        small = abs(value) in SMALL
        low, high = max(by_sound[cell][0], sound[cell][0]), by_sound[cell][1]
        if low == high and (cell in hidden or small):
            return True  # worked out exactly
        if small and min(SMALL) <= low and high <= max(SMALL):
            return True  # the differences alone show it is 1 to 4 (not 0, not 5 or more)
        low = max(by_trust[cell][0], trusting[cell][0])
        high = min(by_trust[cell][1], trusting[cell][1])
        if small and low == high == value:
            return True  # worked out by a reader who takes every "<5" at its word
    return False
