"""deploy/nats/values.yaml for the official NATS Helm chart: the configuration the chart makes
from it (tests/ops/natschart.py) is one nats-server accepts, with the durability, replication
and users the services need."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.natsauth import SERVICES, NatsUsers
from deploy.natsserver import binary
from tests.ops.natschart import config_document, render
from tests.ops.tools import DEPLOY, run

VALUES = DEPLOY / "nats" / "values.yaml"


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def layout(tmp_path: Path, conf: str) -> Path:
    """The pod's files: the chart's ConfigMap and the users Secret mounted beside it."""
    (tmp_path / "nats-config").mkdir()
    (tmp_path / "nats-auth").mkdir()
    users = NatsUsers.load(tmp_path / "users.json")
    users.add_agency("lanxing")
    (tmp_path / "nats-auth" / "auth.conf").write_text(users.render())
    path = tmp_path / "nats-config" / "nats.conf"
    path.write_text(conf)
    return path


def check(path: Path) -> str:
    return run(binary(), "-c", str(path), "-t", env={**os.environ, "SERVER_NAME": "nats-0"})


def test_the_rendered_configuration_is_valid(values: dict[str, Any], tmp_path: Path):
    output = check(layout(tmp_path, render(values)))
    assert "is valid" in output


def test_the_check_rejects_a_quoted_size(values: dict[str, Any], tmp_path: Path):
    """Why sizes are written << 8MB >>: quoted, nats-server refuses the configuration."""
    conf = render(values).replace("8MB", '"8MB"')
    import subprocess

    done = subprocess.run(
        [binary(), "-c", str(layout(tmp_path, conf)), "-t"],
        capture_output=True,
        text=True,
        env={**os.environ, "SERVER_NAME": "nats-0"},
    )
    assert done.returncode != 0


def test_three_replicas_file_storage_synced_always(values: dict[str, Any]):
    doc = config_document(values)
    assert values["config"]["cluster"]["replicas"] == 3
    assert len(doc["cluster"]["routes"]) == 3
    assert doc["jetstream"]["sync_interval"] == "always"
    assert doc["jetstream"]["store_dir"] and doc["jetstream"]["max_memory_store"] == 0
    assert re.fullmatch(r"<< \d+[GM]B >>", doc["jetstream"]["max_file_store"])
    assert values["config"]["jetstream"]["fileStore"]["pvc"]["size"]
    assert values["promExporter"]["enabled"] is True


def test_every_service_user_is_in_the_included_users(values: dict[str, Any], tmp_path: Path):
    include = values["config"]["merge"]["$include"]
    conf = layout(tmp_path, render(values))
    auth = (conf.parent / include).resolve().read_text()
    for name in SERVICES:
        assert f'user: "{name}"' in auth
    # The Secret the values mount is the one docs/operations.md tells how to make.
    patch = values["podTemplate"]["patch"][0]["value"]
    assert patch["secret"]["secretName"] == "qianshou-nats-auth"
    mounted = values["container"]["patch"][0]["value"]["mountPath"]
    assert (Path("/etc/nats-config") / include).resolve() == Path(mounted) / "auth.conf"
