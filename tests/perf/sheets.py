"""The spreadsheet benchmark of issue 14: a visit sheet imported, from upload until the
report's as_of covers its last row, beside POST /v1/events of the same visits as JSON.

    python -m tests.perf.sheets --rows 100000 [--sync always|default]

Starts its own NATS and PostgreSQL and the services, registers two agencies, then:
- spreadsheet: an XLSX of `--rows` visits (built from the template's columns) for one
  agency, uploaded to POST /v1/imports; timed from the start of the upload until
  reporting's watermark (what the summary's as_of reads) holds every row;
- JSON: as many visits of the other agency through POST /v1/events, per-agency requests
  of up to 500 from 8 concurrent clients (tests/perf/drive.py), timed the same way.
Prints one JSON object with rows/s of each. A benchmark, not a test: nothing is asserted
about speed (tests/perf/test_sheets_smoke.py checks the counts at CI size)."""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import xlsxwriter

from services.intake.sheets.columns import SHEET_TYPES
from tests.perf import drive
from tests.perf.harness import Bench, Watermark, start_servers, start_stack

SHEET_AGENCY, JSON_AGENCY = "ag000", "ag001"
SERVICES_ZH = ["上门用药", "心理慰藉", "代购代送", "居家照护", "健康检查"]
START = datetime(2023, 1, 1, 8, 0)


def visit_time(n: int) -> datetime:
    """Daytime visits, a hundred a day (a date-time cell at midnight reads as a bare date)."""
    return START + timedelta(days=n // 100, minutes=7 * (n % 100))


def visit_sheet(rows: int) -> bytes:
    """An XLSX with the template's two header rows and `rows` visits, cells as a clerk
    leaves them (date-time cells, whole numbers as numbers, Chinese service labels)."""
    columns = SHEET_TYPES["visits"].columns
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("上门服务记录")
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, [c.label for c in columns])
    sheet.write_row(1, 0, [c.path for c in columns])
    for n in range(rows):
        r = n + 2
        sheet.write_string(r, 0, f"bench-v{n:07d}")
        sheet.write_string(r, 1, f"c{n % 5000:05d}")
        sheet.write_string(r, 2, f"w{n % 40:02d}")
        sheet.write_string(r, 3, SERVICES_ZH[n % len(SERVICES_ZH)])
        sheet.write_datetime(r, 4, visit_time(n), when)
        sheet.write_number(r, 5, 15 + n % 60)
    book.close()
    return buffer.getvalue()


def visit_events(agency: str, rows: int) -> list[dict[str, Any]]:
    """The same visits as JSON envelopes, for POST /v1/events."""
    services = ["home-medication", "psychological-comfort", "proxy-shopping", "home-care"]
    out = []
    for n in range(rows):
        at = visit_time(n).isoformat() + "+08:00"
        out.append(
            {
                "event_id": f"bench-json-{n:07d}",
                "type": "visit-logged",
                "schema_version": 1,
                "agency_id": agency,
                "occurred_at": at,
                "payload": {
                    "visit_id": f"bench-v{n:07d}",
                    "client_id": f"c{n % 5000:05d}",
                    "worker_id": f"w{n % 40:02d}",
                    "service": services[n % len(services)],
                    "started_at": at,
                    "duration_min": 15 + n % 60,
                },
            }
        )
    return out


def registrations() -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"bench-reg-{agency}",
            "type": "agency-registered",
            "schema_version": 1,
            "agency_id": agency,
            "occurred_at": "2019-05-01T09:00:00+08:00",
            "payload": {
                "agency_id": agency,
                "name": f"Agency {agency}",
                "region_code": "220102",
                "role": "assisting",
                "registered_on": "2019-05-01",
            },
        }
        for agency in (SHEET_AGENCY, JSON_AGENCY)
    ]


async def spreadsheet(bench: Bench, content: bytes, rows: int) -> dict[str, Any]:
    watermark = await Watermark.open(bench)
    base = (await watermark.read())[0]
    auth = {"Authorization": f"Bearer {bench.token(agency_id=SHEET_AGENCY)}"}
    async with httpx.AsyncClient(base_url=bench.url("intake"), timeout=300) as client:
        started = time.time()
        resp = await client.post(
            "/v1/imports",
            headers=auth,
            data={"type": "visits"},
            files={"file": ("visits.xlsx", content)},
        )
        answered = time.time()
        resp.raise_for_status()
        import_id = resp.json()["import_id"]
        while True:
            status = (await client.get(f"/v1/imports/{import_id}", headers=auth)).json()
            if status["status"] != "running":
                break
            await asyncio.sleep(0.1)  # a benchmark's progress poll, not a test's wait
        imported = time.time()
    done = await watermark.wait_for(base + status["accepted"], timeout_s=3600)
    await watermark.close()
    seconds = done - started
    return {
        "rows": rows,
        "file_mb": round(len(content) / 1e6, 2),
        "import": {k: status[k] for k in ("status", "accepted", "duplicate", "rejected")},
        "upload_answered_s": round(answered - started, 3),
        "imported_s": round(imported - started, 3),
        "reported_s": round(seconds, 3),
        "rows_per_s": round(status["accepted"] / seconds),
        "as_of_covers_last_row": await drive.as_of_covers_newest(bench),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.time()
    top = Path(tempfile.mkdtemp(prefix="qianshou-perf-sheets-"))
    content = visit_sheet(args.rows)
    events = visit_events(JSON_AGENCY, args.rows)
    nats_server, postgres = start_servers(top, args.sync)
    bench: Bench | None = None
    try:
        bench = start_stack(top, args.sync, nats_server, postgres)
        await drive.sustained(bench, registrations(), clients=1)
        sheet = await spreadsheet(bench, content, args.rows)
        json_run = await drive.sustained(bench, events, clients=args.clients)
    finally:
        if bench is not None:
            bench.stop()
        else:
            nats_server.stop()
            postgres.stop()
        shutil.rmtree(top, ignore_errors=True)
    return {
        "command": "python -m tests.perf.sheets " + " ".join(args.argv),
        "nats_sync_interval": args.sync,
        "spreadsheet": sheet,
        "post_events": {
            k: json_run[k] for k in ("events", "statuses", "clients", "reported_s", "events_per_s")
        },
        "spreadsheet_rows_per_s_vs_post_events": round(
            sheet["rows_per_s"] / max(json_run["events_per_s"], 1), 2
        ),
        "total_seconds": round(time.time() - started, 1),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.sheets", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sync", choices=["always", "default"], default="always")
    parser.add_argument("--clients", type=int, default=8, help="concurrent JSON senders")
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(list(sys.argv[1:] if argv is None else argv))
    result = asyncio.run(run(args))
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
