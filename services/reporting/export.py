"""CSV export of summaries: UTF-8 with a BOM (Excel then reads Chinese correctly), one row
per report line, KPI maps flattened into columns, English or zh-CN headers (from the KPI
registry, services/reporting/kpis.py)."""

from __future__ import annotations

import csv
import io
from typing import Any

from services.reporting import kpis as registry

# zh-CN headers: the line's label, then every column the KPI registry names.
ZH = {"line": "范围"} | {
    column: registry.label(column)
    for k in registry.KPIS
    for column in ([f"{k.name}.{key}" for key in k.cells] if k.cells else [k.name])
}


def flatten(line: str, kpis: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: maps become one column per key (0 where absent); milestones are left out."""
    row: dict[str, Any] = {"line": line}
    for key, value in kpis.items():
        if key in registry.MAPS:
            for sub in registry.MAPS[key]:
                row[f"{key}.{sub}"] = value.get(sub, 0)
        elif not isinstance(value, (list, dict)):
            row[key] = "" if value is None else value
    return row


def to_csv(rows: list[dict[str, Any]], chinese: bool) -> bytes:
    out = io.StringIO()
    fields = list(rows[0]) if rows else ["line"]
    writer = csv.writer(out)
    writer.writerow([ZH.get(f, f) for f in fields] if chinese else fields)
    for row in rows:
        writer.writerow([row.get(f, "") for f in fields])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
