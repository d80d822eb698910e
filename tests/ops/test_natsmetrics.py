"""deploy/natsmetrics.py against a real nats-server: the exporter's series names and labels,
with the values the server's monitoring endpoints give."""

from __future__ import annotations

from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.js.api import StreamConfig
from prometheus_client.parser import text_string_to_metric_families

from deploy.natsmetrics import CONSUMER_LABELS, STREAM_LABELS, serve
from deploy.natsserver import LocalNats, NatsCluster, free_port
from tests.support.polling import eventually


def scrape(port: int) -> dict[str, list[Any]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


async def test_consumer_and_stream_series_as_the_exporter_names_them(
    nats_server: LocalNats, nc: Client
):
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="OPSTEST", subjects=["opstest.>"]))
    for i in range(5):
        await js.publish(f"opstest.{i}", b"x")
    sub = await js.pull_subscribe("opstest.>", durable="ops-reader", stream="OPSTEST")
    delivered = await sub.fetch(2)
    await delivered[0].ack_sync()

    port = free_port()
    server = serve([f"http://127.0.0.1:{nats_server.monitor_port}"], port)
    try:
        await check_series(port)
    finally:
        server.shutdown()


async def check_series(port: int) -> None:

    def consumer_series() -> dict[str, Any]:
        found = {}
        for name, samples in scrape(port).items():
            for sample in samples:
                if sample.labels.get("consumer_name") == "ops-reader":
                    found[name] = sample
        return found

    series = await eventually(
        lambda: (s := consumer_series()) and s["nats_consumer_num_ack_pending"].value == 1 and s,
        timeout_s=10,
        what="the consumer's series with one ack pending",
    )
    assert series["nats_consumer_num_pending"].value == 3
    assert series["nats_consumer_num_ack_pending"].value == 1
    assert series["nats_consumer_num_redelivered"].value == 0
    assert series["nats_consumer_delivered_stream_seq"].value == 2
    sample = series["nats_consumer_num_pending"]
    assert sorted(sample.labels) == sorted(CONSUMER_LABELS)
    assert sample.labels["stream_name"] == "OPSTEST"
    assert sample.labels["is_consumer_leader"] == "true"
    assert sample.labels["is_meta_leader"] == "true"  # a single server is its own leader

    everything = scrape(port)
    (stream,) = [
        s for s in everything["nats_stream_total_messages"] if s.labels["stream_name"] == "OPSTEST"
    ]
    assert stream.value == 5 and sorted(stream.labels) == sorted(STREAM_LABELS)
    assert any(s.value > 0 for s in everything["nats_stream_total_bytes"])
    assert [s.labels for s in everything["nats_varz_slow_consumers"]] == [
        {"server_id": sample.labels["server_id"]}
    ]
    assert everything["nats_varz_connections"][0].value >= 1
    assert everything["nats_server_max_storage"][0].value > 0


def test_an_unreachable_server_is_left_out():
    port = free_port()
    server = serve([f"http://127.0.0.1:{free_port()}"], port)
    try:
        families = scrape(port)
    finally:
        server.shutdown()
    assert families["nats_consumer_num_pending"] == []
    assert "nats_varz_slow_consumers" not in families


async def test_a_cluster_reports_one_leader_each_and_no_meta_leader_without_quorum(
    nats_cluster: NatsCluster,
):
    """What the rules filter on (`is_consumer_leader`, `is_meta_leader`) on a real three-node
    cluster: every node reports its copy, one of them as the leader; with two nodes gone the
    last one reports no meta leader, the condition NatsNoMetaLeader fires on."""
    assert nats_cluster.users is not None
    client = await nats.connect(
        servers=nats_cluster.url.split(","),
        user="admin",
        password=nats_cluster.users.services["admin"],
    )
    try:
        js = client.jetstream()
        await js.add_stream(StreamConfig(name="OPSR3", subjects=["opsr3.>"], num_replicas=3))
        # The new stream may still be electing its leader: retry (deduplicated by its id).
        await eventually(
            lambda: js.publish("opsr3.a", b"x", headers={"Nats-Msg-Id": "ops-r3-1"}),
            timeout_s=45,
            what="a publish to the new R3 stream",
        )
        await eventually(
            lambda: js.pull_subscribe("opsr3.>", durable="ops-r3", stream="OPSR3"),
            timeout_s=45,
            what="the consumer on the new R3 stream",
        )
    finally:
        await client.close()
    port = free_port()
    server = serve([f"http://127.0.0.1:{n.monitor_port}" for n in nats_cluster.nodes], port)
    try:

        def leaders() -> tuple[list[Any], list[Any]] | None:
            families = scrape(port)
            metas = families["nats_server_total_streams"]
            copies = [
                s
                for s in families["nats_consumer_num_pending"]
                if s.labels["consumer_name"] == "ops-r3"
            ]
            return (metas, copies) if len(metas) == 3 and len(copies) == 3 else None

        metas, copies = await eventually(leaders, timeout_s=20, what="three copies of each")
        assert [s.labels["is_meta_leader"] for s in metas].count("true") == 1
        assert {s.labels["cluster"] for s in metas} == {"qianshou"}
        assert [s.labels["is_consumer_leader"] for s in copies].count("true") == 1
        # Followers' copies may lag or read 0: why the rules keep the leader's.
        (leader,) = [s for s in copies if s.labels["is_consumer_leader"] == "true"]
        assert leader.value == 1

        survivor = nats_cluster.nodes[0]
        for node in nats_cluster.nodes[1:]:
            node.kill()

        def no_meta_leader() -> bool:
            metas = scrape(port)["nats_server_total_streams"]
            return [s.labels["server_name"] for s in metas] == [survivor.server_name] and all(
                s.labels["is_meta_leader"] == "false" for s in metas
            )

        await eventually(no_meta_leader, timeout_s=30, what="the survivor without a meta leader")
    finally:
        server.shutdown()


def test_qianshou_up_serves_them_for_the_nats_it_runs(
    nats_server: LocalNats, monkeypatch: pytest.MonkeyPatch
):
    from types import SimpleNamespace

    from deploy.cli import _serve_nats_metrics

    port = free_port()
    monkeypatch.setenv("QIANSHOU_NATS_METRICS_PORT", str(port))
    url = _serve_nats_metrics(SimpleNamespace(nats=nats_server))
    assert url == f"http://127.0.0.1:{port}/metrics"
    names = {f.name for f in text_string_to_metric_families(httpx.get(url, timeout=5).text)}
    assert {"nats_varz_slow_consumers", "nats_server_total_streams"} <= names
    monkeypatch.setenv("QIANSHOU_NATS_METRICS_PORT", "0")
    assert _serve_nats_metrics(SimpleNamespace(nats=nats_server)) is None
