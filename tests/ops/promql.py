"""The metric names a PromQL expression reads. Not a parser: label matchers, strings, ranges
and grouping clauses are removed, and what is left that is a name and not a function or a
keyword is a metric. Enough for the expressions of deploy/monitoring (promtool checks their
syntax)."""

from __future__ import annotations

import re

_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)"


def metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^{}]*\}", "", text)
    text = re.sub(r"\[[^\[\]]*\]", "", text)
    text = re.sub(_GROUPING, "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or match.group() in _KEYWORDS:
            continue
        names.add(match.group())
    return names
