"""The XLSX template of a sheet type: row 1 the zh-CN labels, row 2 the contract's field
names, row 3 an example the importer skips, validation lists for enumerations, date and
time columns formatted as such, text columns as text (so `0012` and phone numbers keep
their digits), and a sheet of instructions in Chinese."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import xlsxwriter

from services.intake.sheets.columns import OCCURRED_AT, Column, SheetType

TEMPLATE_ROWS = 5000  # rows that carry validation and formats (Excel copies them on)
EXAMPLE_DAY = date(2026, 11, 4)
EXAMPLE_TIME = datetime(2026, 11, 4, 9, 30)
_EXAMPLE_TEXT = {
    "name": "示例名称",
    "region_code": "222405",
    "title": "健康讲座：高血压防治",
    "target_group": "独居老人",
    "ethnicity": "朝鲜族",
    "languages": "zh、ko",
    "attendee_worker_ids": "w-01、w-02",
    "reason": "录入错误",
}
_EXAMPLE_INT = {"birth_year": 1950, "duration_min": 30, "attendees": 25}
_FORMATS = {
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "text": "@",
    "list": "@",
    "enum": "@",
    "enum-list": "@",
    "int": "0",
}


def example_row(sheet: SheetType) -> dict[str, Any]:
    """The example row's cell values by field path (empty cells left out)."""
    row: dict[str, Any] = {}
    for column in sheet.columns:
        if column.path == OCCURRED_AT and not column.required:
            continue
        if column.personal and column.path != "name":
            continue
        value = _example(column)
        if value is not None and (column.required or column.path in _EXAMPLE_TEXT):
            row[column.path] = value
    return row


def _example(column: Column) -> Any:
    kind, leaf = column.kind, column.path.rsplit(".", 1)[-1]
    if column.own_agency:
        return None
    if kind in ("enum", "enum-list"):
        return column.choice_labels[column.choices[0]]
    if kind == "date":
        return EXAMPLE_DAY
    if kind == "datetime":
        return EXAMPLE_TIME
    if kind == "int":
        return _EXAMPLE_INT.get(leaf, 1)
    if kind == "float":
        return 2.5
    if kind == "bool":
        return "否"
    if leaf in _EXAMPLE_TEXT:
        return _EXAMPLE_TEXT[leaf]
    if leaf.endswith("_id") or leaf.endswith("_ids"):
        return leaf.removesuffix("_ids").removesuffix("_id").replace("_", "-") + "-0001"
    return "示例"


def describe(column: Column) -> str:
    """What a column takes, in Chinese (header comments and the instructions sheet)."""
    kind = column.kind
    if kind in ("enum", "enum-list"):
        options = "、".join(f"{column.choice_labels[c]}({c})" for c in column.choices)
        many = "可填多个，用顿号“、”分隔；" if kind == "enum-list" else ""
        return f"{many}可选：{options}（填中文或英文值均可）"
    if kind == "date":
        return "日期，如 2026-11-04（也可用日期单元格）"
    if kind == "datetime":
        text = "北京时间，如 2026-11-04 09:30（也可带时区，如 +08:00）"
        if column.path == OCCURRED_AT and not column.required:
            text += "；可不填，默认取本行的日期"
        return text
    if kind == "int":
        return "整数"
    if kind == "float":
        return "数字，可带小数"
    if kind == "bool":
        return "是 / 否"
    if kind == "list":
        return "可填多个，用顿号“、”分隔"
    if column.own_agency:
        return "可不填，默认为导入所属机构"
    if column.personal:
        return "个人信息，加密保存，不会出现在报表中"
    return "文本"


def template_workbook(sheet: SheetType) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    label = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    field_name = book.add_format({"italic": True, "font_color": "#808080", "border": 1})
    example = book.add_format({"italic": True, "font_color": "#808080"})
    formats = {k: book.add_format({"num_format": f}) for k, f in _FORMATS.items()}
    example_formats = {
        k: book.add_format({"num_format": f, "italic": True, "font_color": "#808080"})
        for k, f in _FORMATS.items()
    }
    data = book.add_worksheet(sheet.title)
    values = example_row(sheet)
    for col, column in enumerate(sheet.columns):
        width = max(len(column.path), 2 * len(column.label), 12) + 2
        data.set_column(col, col, width, formats.get(column.kind))
        data.write_string(0, col, column.label, required if column.required else label)
        data.write_comment(0, col, ("必填。" if column.required else "选填。") + describe(column))
        data.write_string(1, col, column.path, field_name)
        _write_example(data, col, column, values.get(column.path), example_formats, example)
        if column.kind == "enum":
            data.data_validation(
                2,
                col,
                TEMPLATE_ROWS,
                col,
                {
                    "validate": "list",
                    "source": [column.choice_labels[c] for c in column.choices],
                    # A warning, not a stop: the contract's English value is accepted too.
                    "error_type": "warning",
                    "error_title": column.label,
                    "error_message": "请从列表中选择，或填写英文值：" + ", ".join(column.choices),
                },
            )
        elif column.kind in ("date", "datetime"):
            data.data_validation(
                2,
                col,
                TEMPLATE_ROWS,
                col,
                {
                    "validate": "any",
                    "input_title": column.label,
                    "input_message": describe(column)[:255],
                },
            )
    data.freeze_panes(2, 0)
    _instructions(book, sheet, label)
    book.close()
    return buffer.getvalue()


def _write_example(
    data: Any, col: int, column: Column, value: Any, formats: dict[str, Any], plain: Any
) -> None:
    if value is None:
        return
    if isinstance(value, datetime | date):
        data.write_datetime(2, col, value, formats[column.kind])
    elif isinstance(value, int | float):
        data.write_number(2, col, value, formats.get(column.kind, plain))
    else:
        data.write_string(2, col, str(value), formats.get(column.kind, plain))


def _instructions(book: Any, sheet: SheetType, header: Any) -> None:
    notes = book.add_worksheet("填写说明")
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    lines = [
        f"《{sheet.title}》导入模板（类型 {sheet.name}，事件 {sheet.event_type}）",
        "1. 第 1 行是中文列名，第 2 行是字段名，请勿修改；导入时以其中任一行作表头均可。",
        "2. 第 3 行是示例，原样保留时导入会跳过；请从第 3 或第 4 行起逐行填写，每行一条记录。",
        "3. 橙色列为必填。选项列可从下拉列表选择中文，也可填写英文值。",
        "4. 时间均为北京时间；日期写成 2026-11-04，时间写成 2026-11-04 09:30。",
        "5. 同一条记录（编号相同）再次导入不会重复计数；修改后重新导入即为更正。",
        "6. 出错的行不会导入，导入结果会列出行号、列名和原因；改正后重新导入整个文件即可。",
        "7. 也可另存为 CSV（UTF-8 或 GB18030 编码）后导入。",
    ]
    for row, text in enumerate(lines):
        notes.write_string(row, 0, text)
    top = len(lines) + 1
    for col, title in enumerate(("列名", "字段名", "是否必填", "填写要求")):
        notes.write_string(top, col, title, header)
    for offset, column in enumerate(sheet.columns, start=1):
        notes.write_row(
            top + offset,
            0,
            [column.label, column.path, "必填" if column.required else "选填", describe(column)],
            wrap,
        )
    notes.set_column(0, 0, 28)
    notes.set_column(1, 1, 30)
    notes.set_column(2, 2, 10)
    notes.set_column(3, 3, 80)
