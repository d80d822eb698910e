"""`qianshou import FILE --type TYPE --agency ID`: upload a spreadsheet to intake, show a
progress bar with rows per second while it imports, then a table of the rejected rows.

Exit status: 0 when every row was accepted or a duplicate, 1 when some rows were
rejected, 2 when the import itself was refused or failed."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

SHOWN_ERRORS = 50  # rows listed in the summary; the rest are counted


def cmd_import(args: argparse.Namespace) -> int:
    from deploy.cli import agency_token

    console = Console()
    path = Path(args.file)
    token = args.token or agency_token(args.agency)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=args.intake_url, headers=auth, timeout=120) as client:
        started = time.monotonic()
        with path.open("rb") as upload:
            resp = client.post(
                "/v1/imports",
                data={"type": args.type, "agency": args.agency},
                files={"file": (path.name, upload)},
            )
        if resp.status_code != 202:
            console.print(f"[red]intake refused the file ({resp.status_code}):[/] {_reason(resp)}")
            return 2
        import_id = resp.json()["import_id"]
        status = _follow(client, console, import_id, started)
    elapsed = time.monotonic() - started
    _summary(console, status, elapsed)
    if status["status"] != "done":
        return 2
    return 1 if status["rejected"] else 0


def _reason(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500]
    details = "; ".join(e.get("message", "") for e in body.get("errors", []))
    return f"{body.get('code')}: {body.get('message')}" + (f" ({details})" if details else "")


def _follow(
    client: httpx.Client, console: Console, import_id: str, started: float
) -> dict[str, Any]:
    columns = (
        TextColumn("[bold]导入 import"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} rows/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=None, rate=0.0)
        while True:
            status: dict[str, Any] = client.get(f"/v1/imports/{import_id}").json()
            seconds = max(time.monotonic() - started, 1e-6)
            progress.update(
                task,
                total=status["rows"],
                completed=status["processed"],
                rate=status["processed"] / seconds,
            )
            if status["status"] != "running":
                return status
            time.sleep(0.5)  # polling a progress display, not synchronising anything


def _summary(console: Console, status: dict[str, Any], elapsed: float) -> None:
    rate = status["processed"] / elapsed if elapsed else 0.0
    console.print(
        f"{status['status']}: {status['rows']} rows, accepted {status['accepted']}, "
        f"duplicate {status['duplicate']}, rejected {status['rejected']} "
        f"in {elapsed:.1f} s ({rate:.0f} rows/s)  import {status['import_id']}"
    )
    if status.get("message"):
        console.print(f"[red]{status['message']}")
    errors = status["errors"]
    if not errors:
        return
    table = Table(title="被拒绝的行 rejected rows")
    for title in ("行 row", "列 column", "代码 code", "说明 message"):
        table.add_column(title, overflow="fold")
    for error in errors[:SHOWN_ERRORS]:
        table.add_row(str(error["row"]), error["column"], error["code"], error["message"])
    console.print(table)
    hidden = len(errors) - SHOWN_ERRORS + status.get("errors_omitted", 0)
    if hidden > 0:
        console.print(f"… and {hidden} more (GET /v1/imports/{status['import_id']})")


def add_parser(sub: Any, intake_url: str) -> None:
    cmd = sub.add_parser("import", help="import a spreadsheet (XLSX or CSV) into intake")
    cmd.add_argument("file", help="the .xlsx/.xls/.ods or .csv file")
    cmd.add_argument(
        "--type",
        required=True,
        help="registrations, workers, clients, visits, activities, trainings, dispatches, "
        "milestones, certifications, projects, pairings",
    )
    cmd.add_argument("--agency", required=True, help="the agency the rows are for")
    cmd.add_argument("--intake-url", default=intake_url)
    cmd.add_argument(
        "--token", help="bearer token (default: the agency's, signed with the local stack's secret)"
    )
    cmd.set_defaults(func=cmd_import)
