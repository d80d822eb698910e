"""The benchmark at CI size: proves it runs and counts right. Speed is never asserted here."""

from __future__ import annotations

from tests.perf import pipeline

EVENTS, PROJECTION_EVENTS = 2000, 5000


async def test_benchmark_runs_and_counts() -> None:
    args = pipeline.parse(
        [
            "--events", str(EVENTS),
            "--sync", "default",
            "--projection-events", str(PROJECTION_EVENTS),
            "--latency-seconds", "2",
            "--query-rounds", "3",
        ]
    )  # fmt: skip
    result = await pipeline.run(args)

    run = result["runs"]["default"]
    assert run["raw_ceilings"]["jetstream_publish"]["messages"] == EVENTS
    assert run["raw_ceilings"]["pipeline"]["events"] == EVENTS
    assert run["end_to_end"]["statuses"] == {"accepted": EVENTS}
    assert run["end_to_end"]["as_of_covers_last_event"]
    latency_events = run["publish_to_report"]["events"]
    assert latency_events == 1000
    assert run["projection_fill"]["projection_events"] == PROJECTION_EVENTS
    assert run["rebuild"]["replayed"] == PROJECTION_EVENTS
    assert set(run["summary_query_ms"]) == {"province", "prefecture", "pairing"}
    assert set(run["peak_rss_mb"]) >= {"intake", "scheduling", "reporting"}
    assert result["ratios_end_to_end_to_raw_pipeline"]["default"] > 0
