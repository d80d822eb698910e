"""The spreadsheet benchmark at CI size: proves it runs and counts right. Speed is never
asserted here."""

from __future__ import annotations

from tests.perf import sheets

ROWS = 1500


async def test_spreadsheet_benchmark_runs_and_counts() -> None:
    result = await sheets.run(sheets.parse(["--rows", str(ROWS), "--sync", "default"]))
    sheet = result["spreadsheet"]
    assert sheet["import"] == {"status": "done", "accepted": ROWS, "duplicate": 0, "rejected": 0}
    assert sheet["as_of_covers_last_row"]
    assert result["post_events"]["statuses"] == {"accepted": ROWS}
    assert sheet["rows_per_s"] > 0 and result["post_events"]["events_per_s"] > 0
