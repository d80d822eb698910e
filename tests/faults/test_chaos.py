"""The fault-injection suite (issue 6), CI-sized: a few thousand events over HTTP and NATS
from six agencies in four regions, services SIGKILLed and restarted, NATS and PostgreSQL
restarted once each; then every store, the report, the dead letters and the lag are
measured against the ledger. The full run is `python -m tests.faults.chaos --events 20000
--kills 12 --seed 7` (see tests/faults/README.md)."""

from __future__ import annotations

import shutil

from tests.faults.chaos import ChaosConfig, run

CI = ChaosConfig(events=3000, kills=4, seed=11, send_s=40.0, poison=6, stream_repeats=20)


def _show(summary: dict[str, object]) -> str:
    keys = (
        "sent",
        "acknowledged",
        "unknown",
        "unknown_recorded",
        "rejected",
        "kills",
        "restarts",
        "crash_points",
        "lost",
        "duplicated",
        "phantom",
        "dead_lettered",
        "poison_missing",
        "healthy_dead_lettered",
        "report_mismatches",
        "reconcile_exit",
        "reconcile",
        "lag",
        "not_ready",
        "unexpected_exits",
        "conflict_probes",
        "timeline",
        "workdir",
    )
    return "\n".join(f"{k}: {summary.get(k)}" for k in keys)


async def test_chaos_run_loses_nothing_and_doubles_nothing() -> None:
    summary = await run(CI)
    print(_show(summary))
    assert summary["sent"] >= CI.events and summary["kills"] >= CI.kills
    assert summary["crash_points"] and summary["unknown"] > 0, _show(summary)
    assert summary["restarts"]["nats"] == 1 and summary["restarts"]["postgres"] == 1
    assert summary["lost"] == 0, _show(summary)
    assert summary["duplicated"] == 0, _show(summary)
    assert summary["phantom"] == 0, _show(summary)
    assert summary["report_mismatches"] == [], _show(summary)
    assert summary["reconcile_exit"] == 0, _show(summary)
    assert summary["poison_missing"] == [] and summary["dead_lettered"] > 0, _show(summary)
    assert summary["ok"], _show(summary)


async def test_negative_control_without_idempotency_is_caught() -> None:
    """The same run with consumer idempotency switched off must be seen to double count:
    proof that the checks above can fail."""
    summary = await run(ChaosConfig(**{**CI.__dict__, "negative_control": True}))
    print(_show(summary))
    shutil.rmtree(str(summary["workdir"]), ignore_errors=True)  # a failed run keeps it
    assert summary["duplicated"] > 0, _show(summary)
    # The reports (and so reconcile) may stay right even so: a fact applied twice has one
    # business key, and reporting counts one row per key (SPEC 3.6). The duplicated
    # projection rows are what is caught.
    assert not summary["ok"]
