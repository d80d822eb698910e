"""XLSX exports without I/O: the summary's sheets, headers and cell types."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from services.reporting import export
from services.reporting.suppression import suppress_report
from services.reporting.workbook import display_width, summary_workbook


def _kpis(visits: int, clients: int) -> dict[str, Any]:
    return {
        "agencies": {"assisting": 1, "assisted": 1, "incubated": 0},
        "clients_served": clients,
        "visits_by_service": {"home-care": visits},
        "visit_minutes": visits * 30,
        "licensed_rate": 0.25,
        "milestones": [
            {"pairing_id": "p1", "milestone": "methods-mastered", "reached_on": "2020-05-01"}
        ],
        "as_of": "2026-11-04T09:30:00+08:00",
    }


def test_summary_sheets_hold_numbers_under_chinese_headers() -> None:
    body = {
        **_kpis(12, 7),
        "breakdown": [
            {"period": "2020", "summary": _kpis(10, 3)},
            {"period": "2021", "summary": _kpis(2, 4)},
        ],
    }
    book = openpyxl.load_workbook(io.BytesIO(summary_workbook("22", body, "year")))
    assert book.sheetnames == ["汇总", "按年", "里程碑"]
    top = {h.value: v.value for h, v in zip(book["汇总"][1], book["汇总"][2], strict=True)}
    assert top[export.ZH["line"]] == "22"
    assert top[export.ZH["visits_by_service.home-care"]] == 12
    assert top[export.ZH["clients_served"]] == 7
    assert top[export.ZH["licensed_rate"]] == 0.25
    years = [[c.value for c in row] for row in book["按年"].iter_rows(min_row=2)]
    assert [row[0] for row in years] == ["2020", "2021"]
    assert book["里程碑"]["B2"].value == "掌握方法"


def test_suppressed_cells_stay_text_and_numbers_stay_numbers() -> None:
    body = suppress_report(_kpis(12, 3))
    book = openpyxl.load_workbook(io.BytesIO(summary_workbook("22", body, None)))
    top = {h.value: v.value for h, v in zip(book["汇总"][1], book["汇总"][2], strict=True)}
    assert top[export.ZH["clients_served"]] == "<5"
    assert top[export.ZH["visit_minutes"]] == 360


def test_chinese_text_counts_double_width() -> None:
    assert display_width("上门用药") == 8
    assert display_width("abc") == 3
