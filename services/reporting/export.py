"""CSV export of summaries: UTF-8 with a BOM (Excel then reads Chinese correctly), one row
per report line, KPI maps flattened into columns, English or zh-CN headers."""

from __future__ import annotations

import csv
import io
from typing import Any

from shared.events import ACTIVITY_KINDS, SERVICES, TRAINING_KINDS

ZH = {
    "line": "范围",
    "agencies.assisting": "援助机构数",
    "agencies.assisted": "受援机构数",
    "agencies.incubated": "孵化机构数",
    "pairings_active": "在行结对数",
    "workers_total": "社工总数",
    "workers_licensed": "持证社工数",
    "licensed_rate": "持证率",
    "clients_registered": "登记服务对象数",
    "clients_in_difficulty": "困境服务对象数",
    "clients_served": "已服务对象数",
    "visit_minutes": "上门服务分钟数",
    "training_attendances": "培训人次",
    "training_hours": "培训小时数",
    "staff_days_dispatched": "派驻人日",
    "staff_days_target": "派驻人日目标",
    "visits_scheduled": "计划上门次数",
    "visits_overdue": "逾期上门次数",
    "as_of": "数据截至",
    **{
        f"clients_served_by_service.{s}": f"服务对象数:{z}"
        for s, z in zip(
            SERVICES,
            ("上门用药", "心理慰藉", "代购代送", "危机支持", "居家照护", "健康检查", "其他"),
            strict=True,
        )
    },
    **{
        f"visits_by_service.{s}": f"上门次数:{z}"
        for s, z in zip(
            SERVICES,
            ("上门用药", "心理慰藉", "代购代送", "危机支持", "居家照护", "健康检查", "其他"),
            strict=True,
        )
    },
    **{
        f"activities_by_kind.{k}": f"活动场次:{z}"
        for k, z in zip(ACTIVITY_KINDS, ("健康讲座", "小组活动", "社区活动"), strict=True)
    },
    **{
        f"activity_attendance_by_kind.{k}": f"活动人次:{z}"
        for k, z in zip(ACTIVITY_KINDS, ("健康讲座", "小组活动", "社区活动"), strict=True)
    },
    **{
        f"trainings_by_kind.{k}": f"培训次数:{z}"
        for k, z in zip(
            TRAINING_KINDS,
            ("主题培训", "集中督导", "经验分享", "实务示范", "线上指导", "实地走访", "考证辅导"),
            strict=True,
        )
    },
}

_MAPS = {
    "agencies": ("assisting", "assisted", "incubated"),
    "clients_served_by_service": SERVICES,
    "visits_by_service": SERVICES,
    "activities_by_kind": ACTIVITY_KINDS,
    "activity_attendance_by_kind": ACTIVITY_KINDS,
    "trainings_by_kind": TRAINING_KINDS,
}


def flatten(line: str, kpis: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: maps become one column per key (0 where absent); milestones are left out."""
    row: dict[str, Any] = {"line": line}
    for key, value in kpis.items():
        if key in _MAPS:
            for sub in _MAPS[key]:
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
