"""Spreadsheet import and templates, without I/O: cells, headers, rows to events."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from services.intake.sheets import reader
from services.intake.sheets.cells import CellError, as_date, as_datetime, as_int, read
from services.intake.sheets.columns import SHEET_TYPES
from services.intake.sheets.rows import Converter
from services.intake.sheets.template import example_row, template_workbook

VISITS = SHEET_TYPES["visits"]
BEIJING = timezone(timedelta(hours=8))


def test_every_column_has_a_chinese_label() -> None:
    for sheet in SHEET_TYPES.values():
        for column in sheet.columns:
            assert column.label != column.path, (sheet.name, column.path)
            for choice in column.choices:
                assert column.choice_labels[choice] != choice, (sheet.name, column.path)


@pytest.mark.parametrize(
    ("cell", "expected"), [(29.0, 29), ("29", 29), ("２９", 29), (" 29.0 ", 29), (7, 7)]
)
def test_whole_numbers_as_a_person_means_them(cell: object, expected: int) -> None:
    assert as_int(cell) == expected


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        (29.5, "not_integer"),
        ("2.5", "not_integer"),
        ("三十", "not_a_number"),
        ("1,000", "not_a_number"),
    ],
)
def test_numbers_that_are_not_whole_are_errors(cell: object, code: str) -> None:
    with pytest.raises(CellError) as caught:
        as_int(cell)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "cell",
    [
        date(2026, 11, 4),
        datetime(2026, 11, 4),
        46330,
        46330.0,
        "46330",
        "2026-11-04",
        "2026/11/4",
        "2026年11月4日",
        "２０２６－１１－０４",
        "20261104",
    ],
)
def test_dates_as_serials_or_text(cell: object) -> None:
    assert as_date(cell) == date(2026, 11, 4)


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("2026-02-30", "invalid_date"),
        ("04/11/2026", "ambiguous_date"),
        ("yesterday", "invalid_date"),
        (46330.5, "invalid_date"),
        (12, "invalid_date"),
    ],
)
def test_impossible_or_ambiguous_dates_are_errors(cell: object, code: str) -> None:
    with pytest.raises(CellError) as caught:
        as_date(cell)
    assert caught.value.code == code


def test_times_are_beijing_time_unless_they_say_otherwise() -> None:
    meant = datetime(2026, 11, 4, 9, 30, tzinfo=BEIJING)
    assert as_datetime("2026-11-04 09:30") == meant
    assert as_datetime(datetime(2026, 11, 4, 9, 30)) == meant
    assert as_datetime(46330 + 9.5 / 24) == meant
    assert as_datetime("2026-11-04T01:30:00Z") == meant
    assert as_datetime("2026-11-04 09:30+08:00") == meant
    for date_only in ("2026-11-04", date(2026, 11, 4), 46330):
        with pytest.raises(CellError) as caught:
            as_datetime(date_only)
        assert caught.value.code == "missing_time"
    with pytest.raises(CellError) as caught:
        as_datetime("2026-11-04 25:30")
    assert caught.value.code == "invalid_datetime"


def test_enumerations_take_the_chinese_label_or_the_value() -> None:
    service = VISITS.column("service")
    assert service is not None
    assert read(service, "上门用药") == read(service, "home-medication") == "home-medication"
    with pytest.raises(CellError) as caught:
        read(service, "massage")
    assert caught.value.code == "unknown_value"
    circumstances = SHEET_TYPES["clients"].column("circumstances")
    assert circumstances is not None
    assert read(circumstances, "独居、low-income") == ["living-alone", "low-income"]


def _visit_rows() -> list[list[object]]:
    return [
        ["v-1", "c-1", "w-1", "心理慰藉", datetime(2026, 11, 4, 9, 30), 30.0],
        ["v-2", "c-2", "w-1", "home-care", "2026-11-05 10:00", "４５"],
    ]


def test_the_template_reads_back_with_either_header_and_skips_its_example() -> None:
    rows = reader.raw_rows(template_workbook(VISITS))
    assert [c for c in rows[0] if c] == [c.label for c in VISITS.columns]
    assert [c for c in rows[1] if c] == [c.path for c in VISITS.columns]
    table = reader.table(VISITS, [*rows, *_visit_rows()], example_row(VISITS))
    assert [n for n, _ in table.rows] == [4, 5]
    by_name = reader.table(VISITS, [rows[1], *_visit_rows()], example_row(VISITS))
    assert [n for n, _ in by_name.rows] == [2, 3]


def test_csv_in_gb18030_or_utf8_with_bom() -> None:
    text = io.StringIO()
    csv.writer(text).writerows(
        [
            [c.label for c in VISITS.columns],
            ["v-1", "c-1", "w-1", "心理慰藉", "2026-11-04 09:30", "30"],
        ]
    )
    for content in (text.getvalue().encode("gb18030"), b"\xef\xbb\xbf" + text.getvalue().encode()):
        table = reader.table(VISITS, reader.raw_rows(content), example_row(VISITS))
        assert table.rows == [(2, ["v-1", "c-1", "w-1", "心理慰藉", "2026-11-04 09:30", "30"])]


def test_a_header_with_unknown_or_missing_columns_is_refused() -> None:
    labels = [c.label for c in VISITS.columns]
    with pytest.raises(reader.FileError) as caught:
        reader.table(VISITS, [[*labels, "备注"]], {})
    assert caught.value.code == "unknown_column"
    with pytest.raises(reader.FileError) as caught:
        reader.table(VISITS, [labels[1:]], {})
    assert caught.value.code == "missing_column"


def test_event_ids_follow_the_business_key_and_the_content() -> None:
    rows = [[c.path for c in VISITS.columns], *_visit_rows()]
    table = reader.table(VISITS, rows, {})
    first = Converter(VISITS, table, "lanxing", b"key").convert(*table.rows[0]).event
    again = Converter(VISITS, table, "lanxing", b"key").convert(*table.rows[0]).event
    assert first is not None and again == first
    changed = [*table.rows[0][1]]
    changed[5] = 31
    corrected = Converter(VISITS, table, "lanxing", b"key").convert(2, changed).event
    assert corrected is not None and corrected["event_id"] != first["event_id"]
    assert corrected["event_id"].rsplit("-", 1)[0] == first["event_id"].rsplit("-", 1)[0]
    other_agency = Converter(VISITS, table, "yanghua", b"key").convert(*table.rows[0]).event
    assert other_agency is not None and other_agency["event_id"] != first["event_id"]


def test_a_record_twice_in_one_file_is_an_error_on_the_later_row() -> None:
    rows = [[c.path for c in VISITS.columns], *_visit_rows(), _visit_rows()[0]]
    rows.append([*_visit_rows()[0][:5], 60])
    table = reader.table(VISITS, rows, {})
    converter = Converter(VISITS, table, "lanxing", b"key")
    results = [converter.convert(n, cells) for n, cells in table.rows]
    assert [r.event is not None for r in results] == [True, True, False, False]
    assert [(e.row, e.field, e.code) for r in results for e in r.errors] == [
        (4, "visit_id", "repeated_row"),
        (5, "visit_id", "conflicting_row"),
    ]


def test_missing_and_bad_cells_name_their_columns() -> None:
    header = [c.label for c in VISITS.columns]
    table = reader.table(VISITS, [header, ["v-1", "", "w-1", "按摩", "2026-11-04", 30.5]], {})
    result = Converter(VISITS, table, "lanxing", b"key").convert(*table.rows[0])
    assert result.event is None
    assert sorted((e.column, e.code) for e in result.errors) == [
        ("开始时间", "missing_time"),
        ("时长(分钟)", "not_integer"),
        ("服务对象编号", "missing_field"),
        ("服务类型", "unknown_value"),
    ]


def test_every_agency_event_type_has_a_sheet() -> None:
    from services.intake.sheets.columns import sheet_type
    from shared.events import AGENCY_EVENT_TYPES

    assert {t: getattr(sheet_type(t), "event_type", None) for t in AGENCY_EVENT_TYPES} == {
        t: t for t in AGENCY_EVENT_TYPES
    }


def test_every_template_reads_back_and_its_example_is_a_valid_event() -> None:
    from shared.validation import validate_incoming

    for sheet in SHEET_TYPES.values():
        content = template_workbook(sheet)
        rows = reader.raw_rows(content)
        assert reader.table(sheet, rows, example_row(sheet)).rows == [], sheet.name
        # The example, once edited by a clerk, is data, and valid data at that.
        table = reader.table(sheet, rows[:3], {})
        converted = Converter(sheet, table, "lanxing", b"key").convert(*table.rows[0])
        assert converted.errors == [], (sheet.name, converted.errors)
        event, errors = validate_incoming(converted.event)
        assert event is not None, (sheet.name, errors)


def test_a_value_under_no_header_is_a_row_error_naming_its_column_letter() -> None:
    header = [c.path for c in VISITS.columns]
    cells = _visit_rows()[0] + [""] * (len(header) - 6) + ["", "备注"]  # one column past
    table = reader.table(VISITS, [header, cells], {})
    result = Converter(VISITS, table, "lanxing", b"key").convert(*table.rows[0])
    letter = "ABCDEFGHIJKLMNOP"[len(header) + 1]
    assert [(e.column, e.code) for e in result.errors] == [(letter, "unknown_column")]


def test_the_data_sheet_is_found_behind_other_sheets() -> None:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(template_workbook(VISITS)))
    book.move_sheet("填写说明", offset=-1)
    data = book[VISITS.title]
    data.append(_visit_rows()[0])
    out = io.BytesIO()
    book.save(out)
    assert book.sheetnames[0] == "填写说明"
    table = reader.read_file(VISITS, out.getvalue(), example_row(VISITS))
    assert [n for n, _ in table.rows] == [4]
