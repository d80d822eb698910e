"""What the dashboard shows, from reporting's summaries: the period chosen, KPI cards, chart
series and the rows of the tables beneath them. Plain functions, no I/O; the figures are the
summary's own (SPEC 3.5), never recomputed here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.reporting import kpis
from shared.labels import VALUE_ZH

PERIOD_KINDS = ("all", "year", "q1", "q2", "q3", "q4", "custom")
MAX_TREND_MONTHS = 120  # what a summary breakdown allows


def label(key: str) -> str:
    """The zh-CN label of a KPI (or KPI.key) as the exports name it."""
    return kpis.label(key)


SERVICE_LABELS = VALUE_ZH["service"]
LECTURES = "activity_attendance_by_kind.health-lecture"  # the lectures of the elderly projects
LECTURES_LABEL = (
    f"{VALUE_ZH['activity_kind']['health-lecture']}{label('activity_attendance_by_kind')[-2:]}"
)


@dataclass(frozen=True)
class Period:
    """The period a page shows, and the range and step of its trend chart."""

    kind: str
    year: int
    start: date | None
    end: date | None
    trend_start: date
    trend_end: date
    trend_step: str  # month | year
    title: str


def choose_period(
    kind: str | None, year: int | None, start: date | None, end: date | None, today: date
) -> Period:
    """`all` (so far, trend by year over ten years), `year`, `q1`..`q4` of `year`, or
    `custom` from/to (trend by month). ValueError with a zh-CN message when it makes no sense."""
    kind = kind or "all"
    if kind not in PERIOD_KINDS:
        raise ValueError("未知的统计期")
    year = year or today.year
    if not 1900 <= year <= 2100:
        raise ValueError("年份须在 1900 到 2100 之间")
    if kind == "all":
        return Period(kind, year, None, None, date(today.year - 9, 1, 1), today, "year", "累计至今")
    if kind == "year":
        first, last = date(year, 1, 1), date(year, 12, 31)
        return Period(kind, year, first, last, first, last, "month", f"{year}年")
    if kind.startswith("q"):
        q = int(kind[1])
        first = date(year, 3 * q - 2, 1)
        last = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
        last = date.fromordinal(last.toordinal() - 1)
        return Period(kind, year, first, last, first, last, "month", f"{year}年第{q}季度")
    if start is None or end is None:
        raise ValueError("自定义时段须填写起止日期")
    if start > end:
        raise ValueError("开始日期晚于结束日期")
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_TREND_MONTHS:
        raise ValueError(f"自定义时段最长 {MAX_TREND_MONTHS} 个月")
    return Period(kind, year, start, end, start, end, "month", f"{start} 至 {end}")


def _total(kpis: dict[str, Any], key: str) -> int:
    value = kpis.get(key) or {}
    return sum(v for v in value.values() if isinstance(v, int))


@dataclass(frozen=True)
class Card:
    kpi: str  # the summary field it shows (tests compare it with the JSON)
    title: str
    value: str
    note: str = ""
    explains: str = ""  # the figure whose events the card links to (default: `kpi`)
    href: str = ""  # that link, in the page's scope and period (dashboard/explain_page.py)


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


def _percent(rate: Any) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def cards(kpis: dict[str, Any]) -> list[Card]:
    """The overview's KPI cards, in the order officials read them."""
    lectures = (kpis.get("activity_attendance_by_kind") or {}).get("health-lecture", 0)
    target = kpis.get("staff_days_target") or 0
    days = kpis.get("staff_days_dispatched") or 0
    by_service = kpis.get("visits_by_service") or {}
    return [
        Card("clients_served", label("clients_served"), _number(kpis.get("clients_served"))),
        Card(
            "clients_in_difficulty",
            label("clients_in_difficulty"),
            _number(kpis.get("clients_in_difficulty")),
        ),
        Card(
            "visits_by_service",
            label("visits_by_service"),
            _number(_total(kpis, "visits_by_service")),
            "；".join(f"{SERVICE_LABELS.get(s, s)} {n:,}" for s, n in by_service.items()),
        ),
        Card(LECTURES, LECTURES_LABEL, _number(lectures)),
        Card(
            "trainings_by_kind",
            label("trainings_by_kind"),
            _number(_total(kpis, "trainings_by_kind")),
            f"{label('training_attendances')} {_number(kpis.get('training_attendances'))}",
        ),
        Card(
            "staff_days_dispatched",
            f"{label('staff_days_dispatched')} / 目标",
            f"{_number(days)} / {_number(target)}",
            f"完成 {_percent(days / target)}" if target else "无目标",
        ),
        Card(
            "licensed_rate",
            label("licensed_rate"),
            _percent(kpis.get("licensed_rate")),
            f"{_number(kpis.get('workers_licensed'))} / {_number(kpis.get('workers_total'))} 人",
            explains="workers_licensed",
        ),
    ]


# The columns of the breakdown and trend tables: (label, how to read it from a summary).
COLUMNS: list[tuple[str, str]] = [
    (label("clients_served"), "clients_served"),
    (label("visits_by_service"), "visits"),
    (LECTURES_LABEL, "lectures"),
    (label("trainings_by_kind"), "trainings"),
    (label("staff_days_dispatched"), "staff_days_dispatched"),
]


def figures(kpis: dict[str, Any]) -> dict[str, int]:
    """One table row's figures from one summary."""
    return {
        "clients_served": int(kpis.get("clients_served") or 0),
        "visits": _total(kpis, "visits_by_service"),
        "lectures": int((kpis.get("activity_attendance_by_kind") or {}).get("health-lecture", 0)),
        "trainings": _total(kpis, "trainings_by_kind"),
        "staff_days_dispatched": int(kpis.get("staff_days_dispatched") or 0),
    }


def chart(categories: list[str], rows: list[dict[str, int]], keys: list[str]) -> dict[str, Any]:
    """The data an ECharts bar or line chart needs (dashboard.js builds the options)."""
    names = dict((k, n) for n, k in COLUMNS)
    return {
        "categories": categories,
        "series": [{"name": names[k], "data": [r[k] for r in rows]} for k in keys],
    }


def seconds_since(as_of: str | None, now: datetime) -> int | None:
    if not as_of:
        return None
    return max(0, int((now - datetime.fromisoformat(as_of)).total_seconds()))


def pace(years: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Each programme year's staff-days against its target, and for the year under way the
    share of the target that should be reached by today (target × elapsed share of the year)."""
    out = []
    for year in years:
        first, last = date.fromisoformat(year["from"]), date.fromisoformat(year["to"])
        length = (last - first).days + 1
        elapsed = min(length, max(0, (today - first).days + 1))
        expected = round(year["target"] * elapsed / length, 1)
        done = year["staff_days"]
        status = (
            "已达标" if done >= year["target"] else ("进度正常" if done >= expected else "落后")
        )
        out.append(
            {**year, "expected": expected, "elapsed_share": elapsed / length, "status": status}
        )
    return out


def agency_label(names: dict[str, str], agency_id: str) -> str:
    """An agency as pages name it: its registered name with its id, or the id alone."""
    name = names.get(agency_id)
    return f"{name}（{agency_id}）" if name and name != agency_id else agency_id
