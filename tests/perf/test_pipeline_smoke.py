"""The benchmark at CI size (--quick): proves it runs and counts right. Speed is never
asserted here."""

from __future__ import annotations

from tests.perf import grid, pipeline, province


async def test_benchmark_runs_and_counts() -> None:
    args = pipeline.parse(["--quick", "--sync", "default"])
    result = await pipeline.run(args)

    run = result["runs"]["default"]
    assert run["raw_ceilings"]["jetstream_publish"]["messages"] == args.events
    assert run["raw_ceilings"]["pipeline"]["events"] == args.events
    assert run["end_to_end"]["statuses"] == {"accepted": args.events}
    assert run["end_to_end"]["as_of_covers_last_event"]
    assert run["publish_to_report"]["events"] == 1000
    assert run["projection_fill"]["projection_events"] == args.projection_events
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
    assert set(run["peak_rss_mb"]) >= {"intake", "scheduling", "reporting"}
    assert result["ratios_end_to_end_to_raw_pipeline"]["default"] > 0
