"""Spreadsheet rows become event envelopes (plain logic, no I/O).

Each row's event id derives from the agency, the event type and the row's business key
(SPEC 3.6), plus a digest of the row's content: the same row uploaded again has the same
id and content (intake answers `duplicate`), and a changed row gets a new id for the same
business key, which intake and reporting take as a correction (an id reused with other
content would be a `conflict` under SPEC 3.1). The digests are keyed HMACs, because a
client's row holds personal data.

Within one file, a business key seen again is an error on the later row: the same content
is a repeated row, other content leaves it unclear which one is meant."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.intake.sheets.cells import CellError, is_empty, read
from services.intake.sheets.columns import OCCURRED_AT, Column, SheetType
from services.intake.sheets.reader import Table
from shared.events import SCHEMA_VERSION

_INDEX = re.compile(r"\[\d+\]")
_CONTRACT_ZH = {
    "missing_field": "缺少必填内容",
    "invalid_value": "不是可选值之一",
    "naive_timestamp": "时间缺少时区",
    "unknown_field": "模板中没有此列",
    "forbidden": "无权为该机构导入",
    "forbidden_reference": "无权引用该编号",
    "conflict": "编号已被其他内容使用",
}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # as the file names it (one of the template's two header names)
    field: str  # the contract's field path
    code: str
    message: str  # Chinese / English

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class Converted:
    row: int
    event: dict[str, Any] | None
    errors: list[RowError] = field(default_factory=list)


def digest(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


class Converter:
    """Rows of one file to envelopes for one agency."""

    def __init__(self, sheet: SheetType, table: Table, agency_id: str, key: bytes):
        self.sheet, self.table, self.agency_id, self.key = sheet, table, agency_id, key
        self.seen: dict[tuple[Any, ...], tuple[int, str]] = {}
        self.positions = {c.path: i for i, c in enumerate(table.columns) if c is not None}

    def header_of(self, path: str) -> str:
        """The column as the file names it; a column not in the file by its template label."""
        position = self.positions.get(path)
        if position is not None:
            return self.table.headers[position]
        column = self.sheet.column(path)
        return column.label if column else path

    def convert(self, row: int, cells: list[Any]) -> Converted:
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        for position, raw in enumerate(cells):
            if is_empty(raw):
                continue
            column = self.table.columns[position] if position < len(self.table.columns) else None
            if column is None:
                errors.append(_headless(row, position))
                continue
            try:
                values[column.path] = read(column, raw)
            except CellError as exc:
                errors.append(self._cell_error(row, column, exc))
        for column in self.sheet.columns:
            if column.own_agency and column.path not in values:
                values[column.path] = self.agency_id
            elif column.required and column.path not in values and not _failed(errors, column):
                errors.append(
                    RowError(
                        row,
                        self.header_of(column.path),
                        column.path,
                        "missing_field",
                        f"{column.label}为必填项 / {column.path} is required",
                    )
                )
        if errors:
            return Converted(row, None, errors)
        event = self._envelope(values)
        repeat = self._repeat(row, values, event)
        return Converted(row, None, [repeat]) if repeat else Converted(row, event)

    def _cell_error(self, row: int, column: Column, exc: CellError) -> RowError:
        message = str(exc)
        if column.personal:  # never echo personal data back
            message = f"{column.label}格式不正确 / {column.path} is not valid"
        return RowError(row, self.header_of(column.path), column.path, exc.code, message)

    def _envelope(self, values: dict[str, Any]) -> dict[str, Any]:
        occurred_at = values.pop(OCCURRED_AT, None)
        if occurred_at is None and self.sheet.date_field:
            day = values[self.sheet.date_field]
            occurred_at = day if "T" in day else f"{day}T00:00:00+08:00"
        payload: dict[str, Any] = {}
        for path, value in values.items():
            *parents, leaf = path.split(".")
            target = payload
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value
        content = orjson.dumps(
            {"occurred_at": occurred_at, "payload": payload}, option=orjson.OPT_SORT_KEYS
        ).decode()
        key = self.business_key(values)
        identity = digest(self.key, self.agency_id, self.sheet.event_type, *key)[:20]
        version = digest(self.key, content)[:12]
        return {
            "event_id": f"sheet-{self.sheet.name}-{identity}-{version}",
            "type": self.sheet.event_type,
            "schema_version": SCHEMA_VERSION,
            "agency_id": self.agency_id,
            "occurred_at": occurred_at,
            "payload": payload,
        }

    def business_key(self, values: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(values.get(path, "")) for path in self.sheet.key)

    def _repeat(self, row: int, values: dict[str, Any], event: dict[str, Any]) -> RowError | None:
        key = self.business_key(values)
        earlier = self.seen.get(key)
        if earlier is None:
            self.seen[key] = (row, event["event_id"])
            return None
        first_row, first_id = earlier
        path = self.sheet.key[-1]
        if first_id == event["event_id"]:
            return RowError(
                row,
                self.header_of(path),
                path,
                "repeated_row",
                f"与第 {first_row} 行完全相同 / the same record as row {first_row}",
            )
        return RowError(
            row,
            self.header_of(path),
            path,
            "conflicting_row",
            f"与第 {first_row} 行编号相同但内容不同，无法确定以哪行为准 / same "
            f"{'+'.join(self.sheet.key)} as row {first_row} with other content: unclear "
            "which one is meant",
        )

    def contract_errors(self, row: int, errors: list[dict[str, str]]) -> list[RowError]:
        """Intake's per-event errors (code, field path) as row errors of this file."""
        out = []
        for error in errors:
            path = _INDEX.sub("", error.get("path", ""))
            path = path.removeprefix("payload.")
            if path.startswith("payload"):
                path = ""
            column = self.sheet.column(path)
            header = self.header_of(path) if column else ""
            code = error.get("code", "invalid")
            zh = _CONTRACT_ZH.get(code, "内容不符合要求")
            label = column.label if column else "本行"
            message = error.get("message", "")
            if column is not None and column.personal:
                message = f"{path} is not valid"
            out.append(RowError(row, header, path, code, f"{label}：{zh} / {message}"))
        return out


def _headless(row: int, position: int) -> RowError:
    letter = column_letter(position)
    return RowError(
        row,
        letter,
        "",
        "unknown_column",
        f"第 {letter} 列没有列名，无法确定此值的含义 / column {letter} has no header: "
        "its value means nothing to the importer",
    )


def column_letter(position: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how the spreadsheet application names a column."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _failed(errors: list[RowError], column: Column) -> bool:
    return any(e.field == column.path for e in errors)
