"""The alert rules on real data: Debian's Prometheus scrapes a running stack (the services'
/metrics as job "qianshou", deploy/natsmetrics.py as job "nats", labelled as
docs/operations.md's scrape configuration labels them) and evaluates deploy/monitoring's
rules every second. A healthy stack raises nothing; a killed service is seen at once
(pending: the rules' `for` durations are minutes), and events waiting for it show up as its
consumer's lag under the exporter's names."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from nats.aio.client import Client

from deploy.natsmetrics import serve
from deploy.natsserver import LocalNats, free_port
from deploy.stack import Stack
from tests.ops.tools import DEPLOY, tool
from tests.support.polling import eventually


@pytest.fixture
def prometheus(tmp_path: Path, stack: Stack, nats_server: LocalNats) -> Iterator[str]:
    stack.up()
    nats_port = free_port()
    exporter = serve([f"http://127.0.0.1:{nats_server.monitor_port}"], nats_port)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(DEPLOY / "monitoring" / "alerts.yaml")],
        "scrape_configs": [
            {
                "job_name": "qianshou",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{proc.port}"],
                        "labels": {"app": name, "pod": f"{name}-0"},
                    }
                    for name, proc in stack.services.items()
                ],
            },
            {"job_name": "nats", "static_configs": [{"targets": [f"127.0.0.1:{nats_port}"]}]},
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    process = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        exporter.shutdown()


def api(base: str, path: str, **params: str) -> Any:
    body = httpx.get(f"{base}/api/v1/{path}", params=params, timeout=5).json()
    assert body["status"] == "success", body
    return body["data"]


def active_alerts(base: str) -> set[tuple[str, str]]:
    return {
        (a["labels"]["alertname"], a["labels"].get("app", ""))
        for a in api(base, "alerts")["alerts"]
    }


async def test_rules_on_a_running_stack(prometheus: str, stack: Stack, nc: Client):
    def all_scraped() -> bool:
        targets = api(prometheus, "targets")["activeTargets"]
        rules = [r for g in api(prometheus, "rules")["groups"] for r in g["rules"]]
        return (
            len(targets) == 4
            and all(t["health"] == "up" for t in targets)
            and all(r.get("lastEvaluation", "").startswith("2") for r in rules)
            and bool(api(prometheus, "query", query="nats_server_total_streams")["result"])
        )

    await eventually(all_scraped, timeout_s=60, what="every target scraped, every rule evaluated")
    await eventually(
        lambda: api(prometheus, "query", query='qianshou_ready{job="qianshou"}')["result"],
        timeout_s=30,
        what="readiness scraped",
    )
    # Before the first scrapes every `absent` is true: those pending alerts clear once the
    # data is in, and then nothing is raised.
    await eventually(
        lambda: active_alerts(prometheus) == set(),
        timeout_s=30,
        what="no alert on a healthy stack",
    )

    stack.services["reporting"].kill()
    await eventually(
        lambda: ("QianshouServiceDown", "reporting") in active_alerts(prometheus),
        timeout_s=30,
        what="QianshouServiceDown pending for reporting",
    )
    # Events for reporting wait on EVENTS while it is down: its consumer's lag, as the
    # dashboard and QianshouConsumerLagGrowing read it.
    js = nc.jetstream()
    for i in range(7):
        await js.publish("events.220102.lanxing.visit-logged", f"{i}".encode())

    def reporting_lag() -> float:
        result = api(
            prometheus,
            "query",
            query='max by (consumer_name) (nats_consumer_num_pending{stream_name="EVENTS",'
            'consumer_name=~"reporting.*",is_consumer_leader="true"})',
        )["result"]
        return float(result[0]["value"][1]) if result else 0.0

    await eventually(lambda: reporting_lag() == 7, timeout_s=30, what="reporting's lag of 7")
