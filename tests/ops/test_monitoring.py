"""The alert rules and the Grafana dashboard: promtool accepts them, each alert is shown
firing and not firing on synthetic series, each has a runbook, every dashboard query parses,
and every query (of rules and dashboard) names only series the running stack exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from deploy.natsmetrics import serve
from deploy.natsserver import LocalNats, free_port
from deploy.stack import Stack
from shared.consumer import EventConsumer
from tests.ops.promql import metric_names
from tests.ops.tools import DEPLOY, ROOT, run, tool

MONITORING = DEPLOY / "monitoring"
ALERTS = MONITORING / "alerts.yaml"
DASHBOARD = MONITORING / "dashboard.json"
# Made by Prometheus itself for every target, not by an exporter.
PROMETHEUS_SERIES = {"up"}


def rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]


def dashboard_targets() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def test_promtool_checks_the_rules_and_their_unit_tests():
    run(tool("promtool"), "check", "rules", str(ALERTS))
    output = run(tool("promtool"), "test", "rules", "alerts-test.yaml", cwd=MONITORING)
    assert "SUCCESS" in output


def test_every_alert_is_tested_firing_and_not_firing():
    tests = yaml.safe_load((MONITORING / "alerts-test.yaml").read_text())["tests"]
    evals = [e for t in tests for e in t["alert_rule_test"]]
    for rule in rules():
        mine = [e for e in evals if e["alertname"] == rule["alert"]]
        assert any(e["exp_alerts"] for e in mine), f"{rule['alert']} never shown firing"
        assert any(not e["exp_alerts"] for e in mine), f"{rule['alert']} never shown quiet"


def test_every_alert_has_a_runbook():
    guide = (ROOT / "docs" / "operations.md").read_text()
    headings = set(re.findall(r"^### (\w+)$", guide, re.M))
    for rule in rules():
        assert rule["alert"] in headings, f"no runbook for {rule['alert']} in docs/operations.md"
        anchor = rule["annotations"]["runbook"]
        assert anchor == f"docs/operations.md#{rule['alert'].lower()}"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}


def test_ack_pending_threshold_follows_the_consumers_limit():
    (rule,) = [r for r in rules() if r["alert"] == "QianshouAckPendingNearLimit"]
    threshold = float(re.findall(r">=\s*([\d.]+)", rule["expr"])[-1])
    limit = EventConsumer(service="x", durable="x", event_types=()).max_ack_pending
    assert threshold == 0.8 * limit


def test_dashboard_panels_are_bilingual_and_their_queries_parse(tmp_path: Path):
    board = json.loads(DASHBOARD.read_text())
    for panel in board["panels"]:
        assert re.search(r"[\u4e00-\u9fff]", panel["title"]), panel["title"]
        assert re.search(r"/ [A-Za-z]", panel["title"]), panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
    targets = dashboard_targets()
    assert len(targets) >= 20
    recording = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": expr}
                    for i, (_title, expr) in enumerate(targets)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(recording, allow_unicode=True))
    run(tool("promtool"), "check", "rules", str(path))


def test_dashboard_covers_what_operators_watch():
    names = set().union(*(metric_names(expr) for _title, expr in dashboard_targets()))
    for wanted in (
        "qianshou_intake_events_total",
        "qianshou_intake_rejections_total",
        "qianshou_outbox_backlog",
        "qianshou_outbox_publish_seconds_bucket",
        "nats_consumer_num_pending",
        "qianshou_projection_latency_seconds_bucket",
        "qianshou_events_dead_lettered_total",
        "qianshou_http_request_seconds_bucket",
        "qianshou_http_request_seconds_count",
        "nats_stream_total_bytes",
        "nats_varz_slow_consumers",
    ):
        assert wanted in names, f"the dashboard shows no {wanted}"


def test_metric_names_are_read_from_expressions():
    expr = 'sum by (le) (rate(a_bucket{x="y{z}"}[5m])) / on (k) b > 0 and absent(c{d="e"})'
    assert metric_names(expr) == {"a_bucket", "b", "c"}


def exported_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names


def test_queries_name_only_series_the_stack_exports(stack: Stack, nats_server: LocalNats):
    stack.up()
    exported: set[str] = set()
    for proc in stack.services.values():
        exported |= exported_names(httpx.get(f"{proc.url}/metrics", timeout=10).text)
    port = free_port()
    server = serve([f"http://127.0.0.1:{nats_server.monitor_port}"], port)
    try:
        exported |= exported_names(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    finally:
        server.shutdown()
    assert "nats_consumer_num_pending" in exported and "qianshou_outbox_backlog" in exported
    queries = [(r["alert"], r["expr"]) for r in rules()] + dashboard_targets()
    for where, expr in queries:
        unknown = metric_names(expr) - exported - PROMETHEUS_SERIES
        assert not unknown, f"{where}: no such series {sorted(unknown)}"
