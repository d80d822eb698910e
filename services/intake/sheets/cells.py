"""Reading one spreadsheet cell as a person means it, without guessing.

Cells come from python-calamine (str, int, float, bool, date, datetime, time) or from CSV
(str). Whole numbers stored as floats (`29.0`) are whole numbers; full-width digits and
punctuation (`２９`, `：`) are read as their ASCII forms (NFKC); dates may be date cells,
serial numbers (1900 date system), `2026-11-04`, `2026/11/4`, `2026年11月4日` or
`20261104`. Times without an offset are Beijing time, as the template's header says
(China has one time zone). What a person could mean in two ways is an error: `04/11/2026`
(day or month first?), `29.5` where a whole number is meant, a date where a time is needed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from services.intake.sheets.columns import Column
from shared.clock import CHINA

_EXCEL_EPOCH = date(1899, 12, 30)  # serial 61 is 1900-03-01 (Excel counts a 29 Feb 1900)
_SERIAL_MIN, _SERIAL_MAX = 61, 2958465
_TRUE = {"是", "true", "yes", "y", "1", "对"}
_FALSE = {"否", "false", "no", "n", "0", "错"}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_OTHER_ORDER = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
_TIME = re.compile(
    r"^(?P<date>.+?)(?:[ T]+|日\s*)(?P<h>\d{1,2})[:时](?P<m>\d{2})(?:[:分](?P<s>\d{2})(?:\.\d+)?秒?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_INT = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
_LIST_SEPARATORS = re.compile(r"[、,;\s]+")


class CellError(ValueError):
    """A cell that cannot be read as its column means: a code and a message in Chinese
    and English."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.code, self.zh, self.en = code, zh, en


def normalise(text: str) -> str:
    """Full-width forms to ASCII, surrounding spaces (also the ideographic one) removed."""
    return unicodedata.normalize("NFKC", text).strip()


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not normalise(value))


def read(column: Column, value: Any) -> Any:
    """The JSON value for the contract, or CellError. `value` must not be empty."""
    kind = column.kind
    if kind == "int":
        return as_int(value)
    if kind == "float":
        return as_float(value)
    if kind == "bool":
        return as_bool(value)
    if kind == "date":
        return as_date(value).isoformat()
    if kind == "datetime":
        return as_datetime(value).isoformat()
    if kind == "enum":
        return as_choice(column, value)
    if kind == "enum-list":
        return [as_choice(column, item) for item in _items(value)]
    if kind == "list":
        return _items(value)
    return as_text(value)


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # an id or a phone number that Excel stored as a number
    if isinstance(value, datetime | date):
        return value.isoformat()
    return normalise(str(value))


def as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _not_a_number(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _not_a_number(value)
        if not value.is_integer():
            raise _not_integer(value)
        return int(value)
    text = normalise(str(value))
    if _INT.match(text):
        return int(text.split(".")[0])
    if _NUMBER.match(text):
        raise _not_integer(text)
    raise _not_a_number(text)


def as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _not_a_number(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    text = normalise(str(value))
    if _NUMBER.match(text):
        return float(text)
    raise _not_a_number(text)


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = as_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(
        "invalid_value", f"应填“是”或“否”，而不是“{text}”", f"expected 是/否 (yes/no), got {text!r}"
    )


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise CellError(
                "invalid_date",
                "日期列中含有时间，请只填日期",
                "a date column holds a time of day; give the date only",
            )
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial_date(value)
    text = normalise(str(value))
    if text.isdigit() and len(text) != 8:
        return _serial_date(int(text))
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            raise CellError(
                "invalid_date", f"“{text}”不是存在的日期", f"{text!r} is not a date that exists"
            ) from None
    if _OTHER_ORDER.match(text):
        raise CellError(
            "ambiguous_date",
            f"“{text}”无法确定年月日顺序，请写成 2026-11-04",
            f"{text!r} could be day-first or month-first; write it as 2026-11-04",
        )
    raise CellError("invalid_date", f"“{text}”不是日期", f"{text!r} is not a date")


def _serial_date(serial: float) -> date:
    if isinstance(serial, float) and not serial.is_integer():
        raise CellError(
            "invalid_date",
            "日期列中含有时间，请只填日期",
            "a date column holds a time of day; give the date only",
        )
    if not _SERIAL_MIN <= serial <= _SERIAL_MAX:
        raise CellError(
            "invalid_date",
            f"“{serial:g}”不是日期",
            f"{serial:g} is not a date (nor an Excel date serial)",
        )
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def as_datetime(value: Any) -> datetime:
    """A moment; without an offset it is Beijing time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CHINA)
    if isinstance(value, date):
        raise _missing_time(value.isoformat())
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer():
            raise _missing_time(f"{value:g}")
        day = _serial_date(math.floor(value))
        seconds = round((value - math.floor(value)) * 86400)
        return datetime.combine(day, time(0), CHINA) + timedelta(seconds=seconds)
    text = normalise(str(value))
    match = _TIME.match(text)
    if match is None:
        try:
            as_date(text)
        except CellError:
            raise CellError(
                "invalid_datetime",
                f"“{text}”不是时间，请写成 2026-11-04 09:30",
                f"{text!r} is not a date and time; write it as 2026-11-04 09:30",
            ) from None
        raise _missing_time(text)
    day = as_date(match["date"])
    try:
        clock = time(int(match["h"]), int(match["m"]), int(match["s"] or 0))
    except ValueError:
        raise CellError(
            "invalid_datetime", f"“{text}”中的时刻不存在", f"{text!r} holds no valid time of day"
        ) from None
    zone: tzinfo = CHINA
    if match["tz"]:
        zone = datetime.fromisoformat(f"2000-01-01T00:00{match['tz']}").tzinfo or CHINA
    return datetime.combine(day, clock, zone)


def as_choice(column: Column, value: Any) -> str:
    text = as_text(value)
    for choice in column.choices:
        if text.lower() == choice or text == column.choice_labels.get(choice):
            return choice
    options = "、".join(column.choice_labels.get(c, c) for c in column.choices)
    raise CellError(
        "unknown_value",
        f"“{text}”不是可选值之一（{options}）",
        f"{text!r} is not one of {', '.join(column.choices)}",
    )


def _items(value: Any) -> list[str]:
    return [item for item in _LIST_SEPARATORS.split(as_text(value)) if item]


def _not_a_number(value: Any) -> CellError:
    return CellError("not_a_number", f"“{value}”不是数字", f"{value!r} is not a number")


def _not_integer(value: Any) -> CellError:
    return CellError(
        "not_integer", f"“{value}”不是整数，此列只收整数", f"{value!r} is not a whole number"
    )


def _missing_time(text: str) -> CellError:
    return CellError(
        "missing_time",
        f"“{text}”只有日期没有时刻，请写成 2026-11-04 09:30",
        f"{text!r} has a date but no time of day; write it as 2026-11-04 09:30",
    )
