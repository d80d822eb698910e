"""XLSX exports of reports, for officials who open them in Excel: the summary (the same
columns, zh-CN headers (from the KPI registry, services/reporting/kpis.py, through
export.ZH) and suppression as summary.csv; one sheet per breakdown) and a
pairing's report. Numbers are written as numbers, hidden cells ("<5") as text, and column
widths fit Chinese text (a CJK character takes two columns).

Written with xlsxwriter: it writes faster than openpyxl and only writing is needed here."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from services.reporting import export
from shared.labels import VALUE_ZH

BREAKDOWN_SHEETS = {"month": "按月", "quarter": "按季度", "year": "按年", "region": "按地区"}
MILESTONE_ZH = VALUE_ZH["milestone"]  # the one table of zh-CN value labels


def display_width(value: Any) -> int:
    """How many columns a value takes on screen: wide (CJK) characters count two."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class _Book:
    """An in-memory workbook with the few cell styles the exports use."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {"in_memory": True})
        self.header = self.book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.rate = self.book.add_format({"num_format": "0.00%"})

    def table(
        self, name: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], rates: set[int]
    ) -> Worksheet:
        """A sheet with a header row and data rows; `rates` are column indexes shown as %."""
        sheet = self.book.add_worksheet(name)
        widths = [display_width(h) for h in headers]
        for col, title in enumerate(headers):
            sheet.write_string(0, col, title, self.header)
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                self._cell(sheet, r, col, value, col in rates)
                widths[col] = max(widths[col], display_width(value))
        for col, width in enumerate(widths):
            sheet.set_column(col, col, min(max(width, 6) + 2, 60))
        sheet.freeze_panes(1, 1 if len(headers) > 2 else 0)
        return sheet

    def _cell(self, sheet: Worksheet, row: int, col: int, value: Any, rate: bool) -> None:
        if value is None or value == "":
            sheet.write_blank(row, col, None)
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, (int, float)):
            sheet.write_number(row, col, value, self.rate if rate else None)
        else:
            sheet.write_string(row, col, str(value))

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def _wide(rows: list[dict[str, Any]], chinese: bool) -> tuple[list[str], list[list[Any]], set[int]]:
    fields = list(rows[0]) if rows else ["line"]
    headers = [export.ZH.get(f, f) if chinese else f for f in fields]
    rates = {i for i, f in enumerate(fields) if f.endswith("_rate")}
    return headers, [[row.get(f, "") for f in fields] for row in rows], rates


def summary_workbook(
    label: str, body: dict[str, Any], breakdown: str | None, chinese: bool = True
) -> bytes:
    """The summary as a workbook: sheet 汇总 holds the scope's line (the first row of
    summary.csv), then one sheet per breakdown with a row per period or region, and the
    milestones reached."""
    book = _Book()
    headers, rows, rates = _wide([export.flatten(label, body)], chinese)
    book.table("汇总" if chinese else "summary", headers, rows, rates)
    lines = body.get("breakdown") or []
    if breakdown and lines:
        flat = [
            export.flatten(line.get("period") or line.get("region", ""), line["summary"])
            for line in lines
        ]
        headers, rows, rates = _wide(flat, chinese)
        book.table(BREAKDOWN_SHEETS[breakdown] if chinese else breakdown, headers, rows, rates)
    milestones = body.get("milestones") or []
    book.table(
        "里程碑" if chinese else "milestones",
        ["结对编号", "里程碑", "达成日期"]
        if chinese
        else ["pairing_id", "milestone", "reached_on"],
        [
            [
                m.get("pairing_id"),
                MILESTONE_ZH.get(m.get("milestone", ""), m.get("milestone"))
                if chinese
                else m.get("milestone"),
                m.get("reached_on"),
            ]
            for m in milestones
        ],
        set(),
    )
    return book.close()


def pairing_workbook(report: dict[str, Any]) -> bytes:
    """A pairing's report (GET /v1/reports/pairings/{id}) as a workbook, one sheet a part."""
    book = _Book()
    incubated, projects = report["agencies_incubated"], report["projects_undertaken"]
    rate = report["assisted_licence_rate"]
    book.table(
        "结对概况",
        ["项目", "数值"],
        [
            ["结对编号", report["pairing_id"]],
            ["援助机构", report["assisting_agency_id"]],
            ["受援机构", report["assisted_agency_id"]],
            ["开始日期", report["starts_on"]],
            ["结束日期", report["ends_on"]],
            ["孵化机构目标", incubated["target"]],
            ["已孵化机构数", incubated["actual"]],
            ["承接项目目标", projects["target"]],
            ["已承接项目数", projects["actual"]],
        ],
        set(),
    )
    book.table(
        "派驻人日",
        ["年度开始", "年度结束", "派驻人日", "目标", "是否达标"],
        [
            [y["from"], y["to"], y["staff_days"], y["target"], "是" if y["met"] else "否"]
            for y in report["staff_days_by_programme_year"]
        ],
        set(),
    )
    book.table(
        "孵化机构",
        ["机构编号", "注册日期"],
        [[a["agency_id"], a["registered_on"]] for a in incubated["agencies"]],
        set(),
    )
    book.table(
        "承接项目",
        ["项目编号", "机构编号", "开始日期"],
        [[p["project_id"], p["agency_id"], p["starts_on"]] for p in projects["projects"]],
        set(),
    )
    book.table(
        "里程碑",
        ["里程碑", "达成日期"],
        [
            [MILESTONE_ZH.get(m["milestone"], m["milestone"]), m["reached_on"]]
            for m in report["milestones"]
        ],
        set(),
    )
    book.table(
        "受援方持证率",
        ["时点", "日期", "社工数", "持证数", "持证率"],
        [
            [when, r["as_of"], r["workers"], r["licensed"], r["rate"]]
            for when, r in (("开始时", rate["at_start"]), ("当前", rate["now"]))
        ],
        {4},
    )
    return book.close()
