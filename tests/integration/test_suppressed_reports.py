"""A county's report by region, suppressed, as JSON, CSV and XLSX: agencies registered at
the county's own code have their own line (else the total minus the lines shows them), so
does the region an agency left (its history stays there), and no subtraction between the shown figures gives a count of 1 to 4 away, in any of the
three forms (the same cells hidden in each)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import httpx
import openpyxl
import orjson

from deploy.stack import Stack
from services.reporting import export
from tests.support.events import agency, client, envelope, visit
from tests.support.polling import eventually
from tests.support.reports import report
from tests.support.subtraction import attack

COUNTY = "220102"
# agency -> (region, workers (licensed, not), clients (in difficulty, not), visits)
AGENCIES = {
    "county-office": (COUNTY, (1, 1), (2, 1), 2),
    "north-station": (COUNTY + "001001", (10, 2), (10, 2), 12),
    "south-station": (COUNTY + "002001", (20, 10), (25, 15), 30),
}


def _worker(agency_id: str, worker_id: str, licence: str) -> dict[str, Any]:
    return envelope(
        "worker-registered",
        {"worker_id": worker_id, "agency_id": agency_id, "role": "social-worker",
         "licence": licence, "languages": ["zh"]},
        agency_id=agency_id,
    )  # fmt: skip


def _events(agency_id: str) -> list[dict[str, Any]]:
    region, (licensed, unlicensed), (difficult, other), visits = AGENCIES[agency_id]
    events = [agency(agency_id, region)]
    events += [_worker(agency_id, f"w{i}", "assistant") for i in range(licensed)]
    events += [_worker(agency_id, f"u{i}", "none") for i in range(unlicensed)]
    clients = [f"c{i}" for i in range(difficult + other)]
    events += [
        client(c, agency_id=agency_id, in_difficulty=i < difficult) for i, c in enumerate(clients)
    ]
    events += [visit(clients[i % len(clients)], agency_id=agency_id) for i in range(visits)]
    return events


def _moved() -> list[dict[str, Any]]:
    """An agency that worked in the county in 2019 and moved out in 2020: its visits stay
    in the county's history, on a line of their own (the region it was in then)."""
    moved = agency("east-station", COUNTY + "003001")
    moved["payload"]["registered_on"] = "2019-01-01"
    moved["occurred_at"] = "2019-01-01T09:00:00+08:00"
    later = agency("east-station", "220103000001")
    later["occurred_at"] = "2020-03-01T09:00:00+08:00"
    elder = client("e1", agency_id="east-station", in_difficulty=False)
    elder["occurred_at"] = "2019-01-01T10:00:00+08:00"
    return [moved, later, elder, *(visit("e1", agency_id="east-station") for _ in range(MOVED))]


MOVED = 3  # visits in 2019 by the agency that moved away


def _send(stack: Stack, token: Callable[..., str]) -> None:
    for agency_id in [*AGENCIES, "east-station"]:
        resp = httpx.post(
            f"{stack.services['intake'].url}/v1/events",
            content=orjson.dumps(_moved() if agency_id == "east-station" else _events(agency_id)),
            headers={"Authorization": f"Bearer {token('agency', agency_id)}"},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        assert {r["status"] for r in resp.json()} == {"accepted"}, resp.text


async def test_a_county_report_hides_the_same_cells_in_json_csv_and_xlsx(
    stack: Stack, token: Callable[..., str]
) -> None:
    stack.up("intake", "reporting")
    _send(stack, token)
    admin = token("admin")
    params = {"region": COUNTY, "breakdown": "region"}
    everyone = sum(d + o for _, _, (d, o), _ in AGENCIES.values())

    def counted() -> dict[str, Any] | None:
        body: dict[str, Any] = report(stack, admin, **params).json()
        visits = sum(body.get("visits_by_service", {}).values())
        done = body.get("clients_registered") == everyone and visits == 44 + MOVED
        return body if done else None

    plain = await eventually(counted, timeout_s=60, what="reporting counted the county")
    lines = {line["region"]: line["summary"] for line in plain["breakdown"]}
    assert list(lines) == [COUNTY, COUNTY + "001001", COUNTY + "002001", COUNTY + "003001"]
    assert sum(lines[COUNTY + "003001"]["visits_by_service"].values()) == MOVED
    assert lines[COUNTY]["clients_registered"] == 3  # the county office's own line
    for figure in ("workers_total", "clients_registered", "clients_served", "visit_minutes"):
        assert plain[figure] == sum(line[figure] for line in lines.values()), figure

    hidden = report(stack, admin, **params, suppress="true").json()
    assert attack(hidden, plain) == []
    own = hidden["breakdown"][0]["summary"]
    assert own["clients_registered"] == own["workers_total"] == "<5"
    assert own["visit_minutes"] == "<5"  # the minutes of two visits
    north = hidden["breakdown"][1]["summary"]
    # 12 workers, 10 licensed: 2 without a licence would show by subtraction.
    assert "<5" in (north["workers_total"], north["workers_licensed"])

    rows = [export.flatten(COUNTY, hidden)] + [
        export.flatten(line["region"], line["summary"]) for line in hidden["breakdown"]
    ]
    text = report(stack, admin, "/v1/reports/summary.csv", **params, suppress="true")
    assert text.status_code == 200, text.text
    read = list(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    columns = list(rows[0])  # the first row names the columns (summary.csv's rule)
    want = [{k: str(row.get(k, "")) for k in columns} for row in rows]
    assert read == want

    book = report(stack, admin, "/v1/reports/summary.xlsx", **params, suppress="true")
    assert book.status_code == 200, book.text
    sheets = openpyxl.load_workbook(io.BytesIO(book.content))
    for sheet, expected in ((sheets["汇总"], rows[:1]), (sheets["按地区"], rows[1:])):
        headers = [c.value for c in sheet[1]]
        got = [dict(zip(headers, [c.value for c in r], strict=True)) for r in sheet.iter_rows(2)]
        want = [
            {export.ZH.get(k, k): (None if v == "" else v) for k, v in row.items()}
            for row in expected
        ]
        assert got == want
