"""The services on a three-node JetStream cluster (issue 16): replicated streams, a list
of servers in NATS_URL, and nothing lost when the EVENTS stream's leader is SIGKILLed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import nats
import orjson
from nats.aio.client import Client
from nats.js.api import StreamConfig

from deploy.natsserver import NatsCluster
from deploy.stack import Stack
from shared.settings import nats_servers
from tests.support.events import agency, client, visit
from tests.support.polling import eventually


async def _admin(cluster: NatsCluster) -> Client:
    assert cluster.users is not None
    return await nats.connect(
        servers=nats_servers(cluster.url),
        user="admin",
        password=cluster.users.services["admin"],
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
    )


async def _post(stack: Stack, body: Any, token: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=stack.services["intake"].url, timeout=60) as http:
        resp = await http.post(
            "/v1/events", content=orjson.dumps(body), headers={"Authorization": f"Bearer {token}"}
        )
    assert resp.status_code == 200, resp.text
    return list(resp.json())


async def _replicas(nc: Client, stream: str) -> int:
    info = await nc.jetstream().stream_info(stream)
    return int(info.config.num_replicas or 1)


async def test_streams_and_buckets_are_replicated_three_times(
    nats_cluster: NatsCluster, cluster_stack: Stack, token: Callable[..., str]
) -> None:
    nc = await _admin(nats_cluster)
    try:
        # An EVENTS left at one replica (say, from a single-node start) is brought up to 3.
        # The JetStream API can time out while a loaded machine's meta group settles; the
        # same create is idempotent, so it is retried until a deadline.
        js = nc.jetstream()
        await eventually(
            lambda: js.add_stream(
                StreamConfig(name="EVENTS", subjects=["events.>"], num_replicas=1)
            ),
            timeout_s=60,
            interval_s=0.5,
            what="EVENTS created at one replica",
        )
        cluster_stack.up()
        for stream in ("EVENTS", "DEADLETTER", "REPORTS", "KV_REVOKED_TOKENS"):
            assert await _replicas(nc, stream) == 3, stream
        # Every node is one of the EVENTS stream's peers.
        info = await nc.jetstream().stream_info("EVENTS")
        assert info.cluster is not None
        peers = {info.cluster.leader} | {p.name for p in info.cluster.replicas or []}
        assert peers == {n.server_name for n in nats_cluster.nodes}
    finally:
        await nc.close()


async def test_a_killed_stream_leader_loses_no_acknowledged_event(
    nats_cluster: NatsCluster, cluster_stack: Stack, token: Callable[..., str]
) -> None:
    cluster_stack.up("intake", "reporting")
    lanxing = token("agency", agency_id="lanxing")
    admin = token("admin")
    await _post(cluster_stack, [agency("lanxing", "220102", role="assisting")], lanxing)
    sent = [client(f"c-{i}") for i in range(5)]
    results = await _post(cluster_stack, sent, lanxing)
    assert {r["status"] for r in results} == {"accepted"}

    nc = await _admin(nats_cluster)
    try:
        js = nc.jetstream()
        leader = (await js.stream_info("EVENTS")).cluster.leader  # type: ignore[union-attr]
        nats_cluster.node(str(leader)).kill()
        # Intake keeps accepting while a new leader is elected; its relay retries.
        visits = [visit(f"c-{i}") for i in range(5)]
        assert {r["status"] for r in await _post(cluster_stack, visits, lanxing)} == {"accepted"}

        async def all_on_stream() -> bool:
            info = await js.stream_info("EVENTS")
            return info.state.messages == 11 and info.cluster.leader != leader  # type: ignore[union-attr]

        await eventually(all_on_stream, timeout_s=60, what="11 events on EVENTS, new leader")
        nats_cluster.start_node(nats_cluster.node(str(leader)))

        def served() -> bool:
            resp = httpx.get(
                f"{cluster_stack.services['reporting'].url}/v1/reports/summary",
                headers={"Authorization": f"Bearer {admin}"},
                timeout=10,
            )
            body = resp.json()
            return body.get("clients_served") == 5 and body.get("clients_registered") == 5

        await eventually(served, timeout_s=60, what="the report counts every event once")
        # Once the killed node is back, each of the three holds all 11.
        for node in nats_cluster.nodes:
            await eventually(
                lambda n=node: _node_messages(n) == 11, timeout_s=30, what=node.server_name
            )
    finally:
        await nc.close()


def _node_messages(node: Any) -> int:
    jsz = node.monitor("/jsz?streams=true")
    for account in jsz.get("account_details", []):
        for stream in account.get("stream_detail", []):
            if stream["name"] == "EVENTS":
                return int(stream["state"]["messages"])
    return -1
