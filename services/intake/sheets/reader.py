"""An uploaded file as rows of cells, numbered as the spreadsheet application numbers them.

XLSX (also .xls and .ods) is read with python-calamine (the first sheet); anything else
is CSV in UTF-8 (with or without a BOM) or, failing that, GB18030, which zh-CN Excel
writes. Then the header: the first row whose cells name columns of the sheet type, by
zh-CN label or by contract field name; a second header row right below it (the template
has both) is skipped too, and so is the template's example row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import python_calamine

from services.intake.sheets.cells import CellError, as_text, is_empty, normalise, read
from services.intake.sheets.columns import Column, SheetType

HEADER_SCAN = 10  # rows searched for the header
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


class FileError(ValueError):
    """The file as a whole cannot be imported: a code and a message (zh / en)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Table:
    """The data rows of a file: (row number, cells), with each cell's column."""

    columns: list[Column | None]  # by position; None for an empty header cell
    headers: list[str]  # as the file names each column
    rows: list[tuple[int, list[Any]]]


def is_workbook(content: bytes) -> bool:
    return content.startswith(_ZIP) or content.startswith(_OLE)


def raw_rows(content: bytes) -> list[list[Any]]:
    """Every row of the file's first sheet from row 1 on (empty rows included)."""
    return next(_sheets(content))


def _sheets(content: bytes) -> Iterator[list[list[Any]]]:
    """The rows of each sheet of a workbook in order; a CSV is one sheet."""
    if not is_workbook(content):
        yield list(csv.reader(io.StringIO(decode_csv(content))))
        return
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        count = len(book.sheet_names)
    except Exception as exc:  # calamine's errors have no common base worth naming
        raise FileError(
            "unreadable", f"无法读取该工作簿 / the workbook cannot be read: {exc}"
        ) from None
    for index in range(count):
        try:
            rows = book.get_sheet_by_index(index).to_python(skip_empty_area=False)
        except Exception as exc:
            raise FileError(
                "unreadable", f"无法读取该工作簿 / the workbook cannot be read: {exc}"
            ) from None
        yield rows


def read_file(sheet: SheetType, content: bytes, example: dict[str, Any]) -> Table:
    """The table of the first sheet (of a workbook) that has the sheet type's header:
    a clerk may have moved the instructions in front of the data."""
    first_error: FileError | None = None
    for rows in _sheets(content):
        try:
            return table(sheet, rows, example)
        except FileError as exc:
            if exc.code != "no_header":
                raise
            first_error = first_error or exc
    raise first_error or FileError("no_header", "文件中没有数据 / the file holds no sheet")


def decode_csv(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError:
        raise FileError(
            "unreadable",
            "CSV 文件既不是 UTF-8 也不是 GB18030 编码 / the CSV is neither UTF-8 nor GB18030",
        ) from None


def _names(sheet: SheetType) -> dict[str, Column]:
    names: dict[str, Column] = {}
    for column in sheet.columns:
        names[normalise(column.label)] = column
        names[column.path] = column
    return names


def _header(row: list[Any], names: dict[str, Column]) -> list[Column | None] | None:
    cells = [normalise(str(c)) if not is_empty(c) else "" for c in row]
    named = [c for c in cells if c]
    if not named or sum(c in names for c in named) * 2 < len(named):
        return None
    unknown = [c for c in named if c not in names]
    if unknown:
        raise FileError(
            "unknown_column",
            f"模板中没有这些列：{'、'.join(unknown)} / columns not in the template: "
            + ", ".join(unknown),
        )
    return [names.get(c) if c else None for c in cells]


def table(sheet: SheetType, rows: list[list[Any]], example: dict[str, Any]) -> Table:
    """Find the header, check the required columns are there, drop the example row."""
    names = _names(sheet)
    found = next(
        (
            (i, columns)
            for i, row in enumerate(rows[:HEADER_SCAN])
            if (columns := _header(row, names))
        ),
        None,
    )
    if found is None:
        raise FileError(
            "no_header",
            f"前 {HEADER_SCAN} 行中找不到表头（列名或字段名）/ no header row (labels or field names)"
            f" in the first {HEADER_SCAN} rows",
        )
    index, columns = found
    headers = [str(c) if not is_empty(c) else "" for c in rows[index]]
    start = index + 1
    if start < len(rows) and _header(rows[start], names) is not None:
        start += 1  # the template's second header row
    missing = [c for c in sheet.columns if c.required and c not in columns]
    if missing:
        raise FileError(
            "missing_column",
            f"缺少必填列：{'、'.join(c.label for c in missing)} / required columns missing: "
            + ", ".join(c.path for c in missing),
        )
    data = list(_data_rows(rows, start, columns, example))
    return Table(columns=columns, headers=headers, rows=data)


def _data_rows(
    rows: list[list[Any]], start: int, columns: list[Column | None], example: dict[str, Any]
) -> Iterator[tuple[int, list[Any]]]:
    for index in range(start, len(rows)):
        cells = rows[index]
        if all(is_empty(c) for c in cells):
            continue
        if index == start and _is_example(cells, columns, example):
            continue
        yield index + 1, cells


def _is_example(cells: list[Any], columns: list[Column | None], example: dict[str, Any]) -> bool:
    """The template's example row, left as it was (an edited one is data)."""
    for column, cell in zip(columns, cells, strict=False):
        if column is None:
            continue
        expected = example.get(column.path)
        if (expected is None) != is_empty(cell):
            return False
        if expected is not None and _meaning(column, cell) != _meaning(column, expected):
            return False
    return True


def _meaning(column: Column, value: Any) -> Any:
    """What a cell says, however it is written (a date cell or its CSV text)."""
    try:
        return read(column, value)
    except CellError:
        return as_text(value)
