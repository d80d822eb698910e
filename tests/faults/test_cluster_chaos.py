"""The cluster fault run (issue 16), CI-sized: traffic over HTTP and NATS from six
agencies while NATS nodes of a three-node cluster are SIGKILLed by role (the EVENTS
leader, the leader of reporting's durable, a node leading neither) and restarted, plus
one window with two nodes down (intake fills its outbox, then answers 503 with
Retry-After; the relays catch up when quorum returns). Then every store, the report, the
stream's copies and the lag are measured against the ledger. The full run is
`python -m tests.faults.chaos --nats-nodes 3 --events 50000 --kills 10 --seed 7
--max-backlog 2000` (docs/cluster.md)."""

from __future__ import annotations

import shutil

from tests.faults.chaos import ChaosConfig, run

CI = ChaosConfig(
    events=3000,
    kills=3,
    seed=11,
    send_s=40.0,
    poison=6,
    stream_repeats=20,
    nats_nodes=3,
    max_backlog=300,
    two_down_s=8.0,
)
SHOWN = (
    "sent",
    "acknowledged",
    "unknown",
    "unknown_recorded",
    "kills",
    "kills_by_role",
    "two_down_windows",
    "outbox_peak_two_down",
    "answers_503_backlogged",
    "lost",
    "duplicated",
    "phantom",
    "stream_duplicates",
    "probe_published",
    "probe_distinct",
    "probe_copies",
    "probe_failed_windows",
    "report_mismatches",
    "lag",
    "outbox_backlog",
    "not_ready",
    "unexpected_exits",
    "timeline",
    "workdir",
)


def _show(summary: dict[str, object]) -> str:
    return "\n".join(f"{k}: {summary.get(k)}" for k in SHOWN)


async def test_cluster_run_survives_node_kills_with_nothing_lost_or_doubled() -> None:
    summary = await run(CI)
    print(_show(summary))
    assert summary["kills_by_role"] == {
        "stream-leader": 1,
        "consumer-leader": 1,
        "non-leader": 1,
        "two-down": 2,
    }, _show(summary)
    # The two-node outage held events back in the outbox past intake's limit: 503s.
    assert summary["outbox_peak_two_down"] > CI.max_backlog, _show(summary)  # type: ignore[operator]
    assert summary["answers_503_backlogged"], _show(summary)
    assert summary["probe_failed_windows"], _show(summary)  # elections were met mid-window
    assert summary["lost"] == 0, _show(summary)
    assert summary["duplicated"] == 0, _show(summary)
    assert summary["phantom"] == 0, _show(summary)
    assert summary["stream_duplicates"] == 0 and summary["probe_copies"] == 0, _show(summary)
    assert summary["report_mismatches"] == [], _show(summary)
    assert not any(summary["lag"].values()), _show(summary)  # type: ignore[attr-defined]
    assert summary["outbox_backlog"] == 0, _show(summary)
    assert summary["ok"], _show(summary)


async def test_negative_control_without_msg_ids_leaves_copies_on_the_stream() -> None:
    """The same run with the relays and the probe publishing without Nats-Msg-Id: the
    windows retried after an election land twice, and the run must say so."""
    summary = await run(ChaosConfig(**{**CI.__dict__, "no_msg_ids": True}))
    print(_show(summary))
    shutil.rmtree(str(summary["workdir"]), ignore_errors=True)  # a failed run keeps it
    assert summary["probe_copies"] or summary["stream_duplicates"], _show(summary)
    assert not summary["ok"]
