"""deploy/k8ssecrets.py: the Secrets' contents are made once and kept, and they are the names
and keys the manifests and the NATS values reference."""

from __future__ import annotations

from pathlib import Path

import yaml

from deploy.k8ssecrets import kubectl_commands, make
from tests.ops.tools import DEPLOY


def env_keys(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_secrets_are_made_once_and_kept(tmp_path: Path):
    first = make(tmp_path / "s", [])
    before = {name: path.read_text() for name, path in first.items()}
    second = make(tmp_path / "s", ["lanxing"])
    for name, text in before.items():
        if name == "qianshou-nats-auth":
            assert "agency-lanxing" in second[name].read_text()
            continue
        assert second[name].read_text() == text, f"{name} changed on a second run"
    assert len(env_keys(second["qianshou-pii"])["QIANSHOU_PII_KEY"]) == 64
    assert all(p.stat().st_mode & 0o077 == 0 for p in second.values())


def test_names_and_keys_are_the_ones_referenced(tmp_path: Path):
    files = make(tmp_path / "s", [])
    referenced: set[tuple[str, str]] = set()
    for path in (DEPLOY / "k8s").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            for container in (
                (doc or {})
                .get("spec", {})
                .get("template", {})
                .get("spec", {})
                .get("containers", [])
            ):
                for item in container.get("env", []):
                    ref = item.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        referenced.add((ref["name"], ref["key"]))
    assert referenced
    for name, key in referenced:
        assert name in files, f"nothing makes Secret {name}"
        path = files[name]
        if path.suffix == ".env":
            assert key in env_keys(path), f"{name} has no key {key}"
        else:
            assert key == "password"
    commands = "\n".join(kubectl_commands(files, "ns"))
    for name in files:
        assert f" {name} " in commands
