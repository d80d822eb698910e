"""NATS_URL lists, replica choice and the cluster's server configuration (issue 16)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy.natsauth import NatsUsers
from deploy.natsserver import NatsCluster, binary
from shared.broker import replicas_for
from shared.settings import nats_servers


def test_nats_url_is_split_into_a_list_of_servers() -> None:
    assert nats_servers("nats://a:4222") == ["nats://a:4222"]
    assert nats_servers(" nats://a:4222, nats://b:4222 ,,nats://c:4222") == [
        "nats://a:4222",
        "nats://b:4222",
        "nats://c:4222",
    ]
    with pytest.raises(ValueError):
        nats_servers(" , ")


def test_replicas_three_on_a_cluster_unless_configured() -> None:
    assert replicas_for(None, clustered=False) == 1
    assert replicas_for(None, clustered=True) == 3
    assert replicas_for(1, clustered=True) == 1
    assert replicas_for(5, clustered=True) == 5


def test_each_node_has_its_own_name_store_and_ports_and_all_share_the_routes(
    tmp_path: Path,
) -> None:
    users = NatsUsers.load(tmp_path / "users.json")
    cluster = NatsCluster(tmp_path, [14223, 14224, 14225], users=users)
    configs = [node.write_config() for node in cluster.nodes]
    texts = [c.read_text() for c in configs]
    assert len({n.server_name for n in cluster.nodes}) == 3
    assert len({n.monitor_port for n in cluster.nodes}) == 3
    routes = {line.strip() for t in texts for line in t.splitlines() if "routes:" in line}
    assert len(routes) == 1  # one list, the same everywhere
    for text, node in zip(texts, cluster.nodes, strict=True):
        assert f'server_name: "{node.server_name}"' in text
        assert "sync_interval: always" in text
        assert str(node.data_dir / "jetstream") in text
        assert 'include "auth.conf"' in text
    assert cluster.url.count(",") == 2
    for config in configs:  # nats-server itself accepts the file (-t: test and exit)
        checked = subprocess.run([binary(), "-c", str(config), "-t"], capture_output=True)
        assert checked.returncode == 0, checked.stderr.decode()
