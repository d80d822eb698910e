"""Intake's Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "qianshou_intake_events_total", "Events received by intake, by outcome",
    ["type", "agency", "status"],
)
OUTBOX_BACKLOG = Gauge("qianshou_intake_outbox_backlog", "Accepted events not yet on EVENTS")
PUBLISH_SECONDS = Histogram(
    "qianshou_intake_publish_seconds", "Time from accepting an event to its PubAck from EVENTS",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
PUBLISH_FAILURES = Counter("qianshou_intake_publish_failures_total", "Relay rounds that failed")
