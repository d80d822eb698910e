"""The benchmark at CI size (--quick): proves it runs and counts right. Speed is never
asserted here."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.perf import grid, pipeline, province


async def test_benchmark_runs_and_counts(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    args = pipeline.parse(["--quick", "--sync", "both", "--out", str(out)])
    result = await pipeline.run(args)

    assert result["errors"] == {}
    assert result["projections_in"] == "default"  # the run's last sync setting
    for sync in ("always", "default"):
        run = result["runs"][sync]
        assert run["raw_ceilings"]["jetstream_publish"]["messages"] == args.events
        assert run["raw_ceilings"]["pipeline"]["events"] == args.events
        assert run["end_to_end"]["statuses"] == {"accepted": args.events}
        assert run["end_to_end"]["as_of_covers_last_event"]
        assert run["publish_to_report"]["events"] == 1000
        assert set(run["peak_rss_mb"]) >= {"intake", "scheduling", "reporting"}
        assert result["ratios_end_to_end_to_raw_pipeline"][sync] > 0
    # The long phases ran in one sync setting only.
    light = result["runs"]["always"]
    assert light["phases"] == ["raw_ceilings", "end_to_end", "publish_to_report"]
    assert not {"projection_fill", "summary_grid_ms", "rebuild"} & set(light)
    assert "fill" not in light["stage_seconds"]

    run = result["runs"]["default"]
    assert run["projection_fill"]["projection_events"] == args.projection_events
    assert run["projection_fill"]["publish_rejected"] == {}
    assert run["disk_after_fill_mb"]["postgres_reporting_mb"] > 0
    assert run["disk_after_fill_mb"]["nats_store_mb"] > 0
    assert run["rebuild"]["replayed"] == args.projection_events
    assert run["summaries_during"]["failed"] == 0, run["failures_during"]
    # The grid's cells of two scopes (all cells at full size) are answered, or refused by
    # the API's own rule (a breakdown by period needs from and to).
    cells = run["summary_grid_ms"]["cells"]
    every = grid.cells(province.scaled(args.events))
    assert set(cells) == {k for k in every if k.startswith(("county/", "pairing/"))}
    answered = [c for c in cells.values() if "refused" not in c]
    assert len(answered) == 2 * 14 and all(c["n"] == 1 for c in answered)
    probes = run["explain_and_as_of_ms"]
    assert sum(k.startswith("explain/") for k in probes) == 6
    assert sum(k.startswith("as_of/") for k in probes) == 6
    assert set(run["stage_load_average"]) == set(run["stage_seconds"])

    # The file written after each stage ends as the printed result.
    saved = orjson.loads(out.read_bytes())
    assert saved["runs"] == result["runs"]
