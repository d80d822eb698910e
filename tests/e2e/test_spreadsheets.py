"""Agencies' spreadsheets through the public HTTP contract: a visit sheet built from the
downloaded template, imported with its bad rows reported, counted once by reporting, and
idempotent on re-upload (also as a GB18030 CSV); the summary as XLSX."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from deploy.cli import publish
from deploy.demo import reference_programme, sender
from deploy.stack import Stack
from services.reporting import export
from tests.support.polling import eventually
from tests.support.reports import caught_up, report

AGENCY = "yanghua"
GOOD_ROWS = 1000
MAX_ROWS = 1100  # the stack's row limit in this test, to see the 413
FIRST_DATA_ROW = 4  # rows 1-2 headers, 3 the template's example
SERVICES_ZH = ["上门用药", "心理慰藉", "home-care", "health-check", "代购代送"]


@pytest.fixture
def sheet_stack(stack: Stack, token: Callable[..., str]) -> Stack:
    stack.extra_env["IMPORT_MAX_ROWS"] = str(MAX_ROWS)
    stack.up("intake", "reporting")
    events = reference_programme()
    counts = publish(
        stack.services["intake"].url,
        events,
        lambda p: token(p.role, agency_id=p.agency_id, region=p.region),
        sender=sender,  # the registry by the Jilin province token (SPEC 3.6)
    )
    assert counts == {"accepted": len(events)}
    return stack


def _good(n: int) -> list[Any]:
    """A good visit row, written the ways a clerk would: labels and values, floats,
    full-width digits, date-time cells and text."""
    started: Any = datetime(2026, 10, 1 + n % 28, 8 + n % 10, 15)
    if n % 3 == 0:
        started = f"2026/10/{1 + n % 28} {8 + n % 10}:15"
    minutes: Any = [30.0, 45, "６０", "20"][n % 4]
    return [f"xl-{n:05d}", f"wh-e{n % 80:03d}", "yh-w1", SERVICES_ZH[n % 5], started, minutes]


# (cells, the field the error names, its code): 20 bad rows of different kinds.
BAD: list[tuple[list[Any], str, str]] = [
    (["xl-bad-01", "wh-e001", "yh-w1", "按摩", "2026-10-02 09:00", 30], "service", "unknown_value"),
    (
        ["xl-bad-02", "wh-e001", "yh-w1", "massage", "2026-10-02 09:00", 30],
        "service",
        "unknown_value",
    ),
    (["xl-bad-03", "wh-e001", "yh-w1", "", "2026-10-02 09:00", 30], "service", "missing_field"),
    (
        ["xl-bad-04", "wh-e002", "yh-w1", "心理慰藉", "2026-02-30 09:00", 30],
        "started_at",
        "invalid_date",
    ),
    (
        ["xl-bad-05", "wh-e002", "yh-w1", "心理慰藉", "2026-13-01 09:00", 30],
        "started_at",
        "invalid_date",
    ),
    (
        ["xl-bad-06", "wh-e002", "yh-w1", "心理慰藉", "2026-10-02 25:00", 30],
        "started_at",
        "invalid_datetime",
    ),
    (["xl-bad-07", "wh-e002", "yh-w1", "心理慰藉", "2026-10-02", 30], "started_at", "missing_time"),
    (
        ["xl-bad-08", "wh-e002", "yh-w1", "心理慰藉", date(2026, 10, 2), 30],
        "started_at",
        "missing_time",
    ),
    (
        ["xl-bad-09", "wh-e002", "yh-w1", "心理慰藉", "02/10/2026 09:00", 30],
        "started_at",
        "ambiguous_date",
    ),
    (["xl-bad-10", "", "yh-w1", "心理慰藉", "2026-10-02 09:00", 30], "client_id", "missing_field"),
    (
        ["xl-bad-11", None, "yh-w1", "home-care", "2026-10-02 09:00", 30],
        "client_id",
        "missing_field",
    ),
    (
        ["xl-bad-12", "13812345678", "yh-w1", "home-care", "2026-10-02 09:00", 30],
        "client_id",
        "invalid",
    ),
    (
        ["xl-bad-13", "wh-e003", "yh-w1", "home-care", "2026-10-02 09:00", 30.5],
        "duration_min",
        "not_integer",
    ),
    (
        ["xl-bad-14", "wh-e003", "yh-w1", "home-care", "2026-10-02 09:00", "45.25"],
        "duration_min",
        "not_integer",
    ),
    (
        ["xl-bad-15", "wh-e003", "yh-w1", "home-care", "2026-10-02 09:00", "半小时"],
        "duration_min",
        "not_a_number",
    ),
    (
        ["xl-bad-16", "wh-e003", "yh-w1", "home-care", "2026-10-02 09:00", 0],
        "duration_min",
        "invalid",
    ),
    (["xl bad 17", "wh-e003", "yh-w1", "home-care", "2026-10-02 09:00", 30], "visit_id", "invalid"),
    (_good(7), "visit_id", "repeated_row"),
    (_good(8), "visit_id", "repeated_row"),
    ([*_good(9)[:5], 90], "visit_id", "conflicting_row"),
]


def _sheet(template: bytes) -> tuple[bytes, list[list[Any]], dict[int, tuple[str, str]]]:
    """The template filled in: good rows with the bad ones spread among them. Returns the
    file, the data rows as written, and the expected error of each bad row by row number."""
    book = openpyxl.load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    rows: list[list[Any]] = [_good(n) for n in range(GOOD_ROWS)]
    expected: dict[int, tuple[str, str]] = {}
    for i, (cells, field, code) in enumerate(BAD):
        # Every 50th row, after the rows that the repeated ones repeat.
        rows.insert(50 * (i + 1), cells)
        expected[FIRST_DATA_ROW + 50 * (i + 1)] = (field, code)
    for offset, cells in enumerate(rows):
        for col, value in enumerate(cells, start=1):
            sheet.cell(row=FIRST_DATA_ROW + offset, column=col, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), rows, expected


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    """The same sheet as zh-CN Excel saves it as CSV: GB18030, dates as it shows them."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for cells in rows:
        writer.writerow([_shown(v) for v in cells])
    return text.getvalue().encode("gb18030")


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return f"{value.year}/{value.month}/{value.day} {value.hour}:{value.minute:02d}"
    if isinstance(value, date):
        return f"{value.year}/{value.month}/{value.day}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _visits(body: dict[str, Any]) -> int:
    return sum(body["visits_by_service"].values())


async def test_visit_sheet_from_the_template(sheet_stack: Stack, token: Callable[..., str]) -> None:
    intake = sheet_stack.services["intake"].url
    auth = {"Authorization": f"Bearer {token('agency', AGENCY)}"}
    province = token("province", region="22")
    await caught_up(sheet_stack, token)
    before = report(sheet_stack, province, agency=AGENCY).json()

    template = httpx.get(f"{intake}/v1/imports/templates/visits.xlsx", timeout=30)
    assert template.status_code == 200
    content, rows, expected = _sheet(template.content)

    first = await _started_and_finished(sheet_stack, auth, "visits.xlsx", content)
    assert first["status"] == "done", first
    assert (first["rows"], first["accepted"], first["duplicate"], first["rejected"]) == (
        GOOD_ROWS + len(BAD),
        GOOD_ROWS,
        0,
        len(BAD),
    )
    found = {e["row"]: (e["field"], e["code"]) for e in first["errors"]}
    assert found == expected
    labels = {e["row"]: e["column"] for e in first["errors"]}
    assert labels[FIRST_DATA_ROW + 50] == "服务类型"
    assert all(" / " in e["message"] for e in first["errors"])  # Chinese / English

    async def counted() -> dict[str, Any] | None:
        body = report(sheet_stack, province, agency=AGENCY).json()
        return body if _visits(body) >= _visits(before) + GOOD_ROWS else None

    after = await eventually(counted, timeout_s=60, what="the imported visits reported")
    assert _visits(after) == _visits(before) + GOOD_ROWS

    # The same file again, and as zh-CN Excel's GB18030 CSV: nothing new, the same errors.
    again = await _started_and_finished(sheet_stack, auth, "visits.xlsx", content)
    header = [
        c.value for c in openpyxl.load_workbook(io.BytesIO(template.content)).worksheets[0][1]
    ]
    as_csv = await _started_and_finished(
        sheet_stack, auth, "visits.csv", _csv([h for h in header if h], rows)
    )
    for repeat, first_row in ((again, FIRST_DATA_ROW), (as_csv, 2)):
        assert repeat["status"] == "done", repeat
        assert (repeat["accepted"], repeat["duplicate"], repeat["rejected"]) == (
            0,
            GOOD_ROWS,
            len(BAD),
        )
        shift = first_row - FIRST_DATA_ROW
        assert {e["row"] - shift: (e["field"], e["code"]) for e in repeat["errors"]} == expected
    final = report(sheet_stack, province, agency=AGENCY).json()
    assert final["visits_by_service"] == after["visits_by_service"]
    assert final["visit_minutes"] == after["visit_minutes"]

    # A corrected row (45 minutes were 50) is a correction: the visit is not counted twice,
    # its minutes are replaced.
    corrected = [*_good(1)[:5], 50]
    assert _good(1)[5] == 45
    fix = await _started_and_finished(
        sheet_stack, auth, "fix.csv", _csv([h for h in header if h], [corrected, _good(2)])
    )
    assert (fix["accepted"], fix["duplicate"], fix["rejected"]) == (1, 1, 0), fix

    async def corrected_minutes() -> dict[str, Any] | None:
        body = report(sheet_stack, province, agency=AGENCY).json()
        return body if body["visit_minutes"] != final["visit_minutes"] else None

    fixed = await eventually(corrected_minutes, timeout_s=60, what="the correction reported")
    assert fixed["visit_minutes"] == final["visit_minutes"] + 5
    assert fixed["visits_by_service"] == final["visits_by_service"]

    # Only whoever started an import reads it.
    other = {"Authorization": f"Bearer {token('agency', 'lanxing')}"}
    denied = httpx.get(f"{intake}/v1/imports/{first['import_id']}", headers=other)
    assert denied.status_code == 403
    admin = {"Authorization": f"Bearer {token('admin')}"}
    assert httpx.get(f"{intake}/v1/imports/{first['import_id']}", headers=admin).status_code == 200

    # Past the row limit: a clear 413 at once.
    too_many = _csv([h for h in header if h], [_good(n) for n in range(MAX_ROWS + 1)])
    refused = httpx.post(
        f"{intake}/v1/imports",
        headers=auth,
        data={"type": "visits"},
        files={"file": ("big.csv", too_many)},
    )
    assert refused.status_code == 413
    assert refused.json()["code"] == "too_large"


async def _started_and_finished(
    stack: Stack, auth: dict[str, str], name: str, content: bytes
) -> dict[str, Any]:
    intake = stack.services["intake"].url
    async with httpx.AsyncClient(timeout=60) as client:
        started = await client.post(
            f"{intake}/v1/imports",
            headers=auth,
            data={"type": "visits"},
            files={"file": (name, content)},
        )
        assert started.status_code == 202, started.text
        import_id = started.json()["import_id"]

        async def finished() -> dict[str, Any] | None:
            resp = await client.get(f"{intake}/v1/imports/{import_id}", headers=auth)
            body: dict[str, Any] = resp.json()
            return body if body["status"] != "running" else None

        result: dict[str, Any] = await eventually(finished, timeout_s=120, what="import done")
    result["import_id"] = import_id
    return result


async def test_summary_xlsx_holds_the_json_figures(
    sheet_stack: Stack, token: Callable[..., str]
) -> None:
    province = token("province", region="22")
    await caught_up(sheet_stack, token)
    params = {"region": "22", "breakdown": "year", "from": "2019-01-01", "to": "2021-12-31"}
    summary = report(sheet_stack, province, **params).json()
    assert summary["breakdown"], summary
    resp = report(sheet_stack, province, path="/v1/reports/summary.xlsx", **params)
    assert resp.status_code == 200, resp.text
    book = openpyxl.load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames[:2] == ["汇总", "按年"]
    expected = [export.flatten("22", summary)] + [
        export.flatten(line["period"], line["summary"]) for line in summary["breakdown"]
    ]
    sheets = [book["汇总"], *[book["按年"]] * len(summary["breakdown"])]
    data_rows = [2, *range(2, 2 + len(summary["breakdown"]))]
    for flat, sheet, row in zip(expected, sheets, data_rows, strict=True):
        headers = [c.value for c in sheet[1]]
        values = [c.value for c in sheet[row]]
        shown = dict(zip(headers, values, strict=True))
        for key, value in flat.items():
            cell = shown[export.ZH.get(key, key)]
            if value in ("", None):
                assert cell is None
            else:
                assert cell == value, key
    assert isinstance(shown[export.ZH["visit_minutes"]], int | float)
    pairing = report(sheet_stack, province, path="/v1/reports/pairings/jl-2019-lanxing-wenhua.xlsx")
    assert pairing.status_code == 200
    pairing_book = openpyxl.load_workbook(io.BytesIO(pairing.content))
    years = report(sheet_stack, province, path="/v1/reports/pairings/jl-2019-lanxing-wenhua")
    staff_days = [r[2].value for r in pairing_book["派驻人日"].iter_rows(min_row=2)]
    assert staff_days == [y["staff_days"] for y in years.json()["staff_days_by_programme_year"]]


def test_the_cli_imports_with_a_summary_of_rejected_rows(
    sheet_stack: Stack, token: Callable[..., str], tmp_path: Path
) -> None:
    header = ["visit_id", "client_id", "worker_id", "service", "started_at", "duration_min"]
    rows = [_good(n) for n in range(30)]
    rows.insert(10, ["xl-cli-bad", "wh-e001", "yh-w1", "按摩", "2026-10-02 09:00", 30])
    sheet = tmp_path / "visits.csv"
    sheet.write_bytes(b"\xef\xbb\xbf" + _csv(header, rows).decode("gb18030").encode())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.cli",
            "import",
            str(sheet),
            "--type",
            "visits",
            "--agency",
            AGENCY,
            "--intake-url",
            sheet_stack.services["intake"].url,
            "--token",
            token("agency", AGENCY),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "accepted 30, duplicate 0, rejected 1" in result.stdout
    assert "rows/s" in result.stdout
    [line] = [ln for ln in result.stdout.splitlines() if "unknown_value" in ln]
    assert " 12 " in line and "service" in line  # row 12: header, then the 11th data row
