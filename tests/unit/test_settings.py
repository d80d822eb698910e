"""The configuration table in docs/configuration.md names exactly what shared/settings.py
reads, and the settings come out typed and sectioned."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from shared.settings import (
    SERVICE_PORTS,
    Env,
    Settings,
    for_tests,
    local_ports,
    nats_credentials,
    nats_metrics,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


class Recording(Mapping[str, str]):
    """An environment that remembers every name asked of it."""

    def __init__(self, values: dict[str, str]):
        self.values, self.asked = values, set[str]()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(name)
        return self.values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def documented() -> set[str]:
    names: set[str] = set()
    for line in DOCS.read_text().splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def read(tmp_path: Path) -> set[str]:
    env = Recording({"QIANSHOU_DATA_DIR": str(tmp_path)})
    for service in SERVICE_PORTS:
        Settings.from_env(service, env)
    nats_credentials("admin", Env(env))
    local_ports(Env(env))
    nats_metrics(Env(env))
    for_tests(Env(env))
    return env.asked


def test_the_documented_table_is_what_settings_read(tmp_path: Path) -> None:
    asked = read(tmp_path)
    assert documented() - asked == set(), "documented but never read"
    assert asked - documented() == set(), "read but not documented"


@pytest.mark.parametrize("batch", ["0", "-5"])
def test_a_rebuild_batch_below_one_is_refused_at_start(tmp_path: Path, batch: str) -> None:
    env = {"QIANSHOU_DATA_DIR": str(tmp_path), "REPORTING_REBUILD_BATCH": batch}
    with pytest.raises(
        ValueError, match=r"REPORTING_REBUILD_BATCH is -?\d+: it must be at least 1"
    ):
        Settings.from_env("reporting", env)
    env["REPORTING_REBUILD_BATCH"] = "1"
    assert Settings.from_env("reporting", env).reporting.rebuild_batch == 1


def test_settings_are_typed_by_section(tmp_path: Path) -> None:
    env = {
        "QIANSHOU_DATA_DIR": str(tmp_path),
        "NATS_URL": "nats://a:4222,nats://b:4222",
        "SCHEDULING_PORT": "9002",
        "SCHEDULING_DAILY_CAP": "6",
        "QIANSHOU_TOKEN_SECRETS": "new, old",
        "QIANSHOU_RATE_LIMIT_PER_S": "10",
        "SCHEDULING_NATS_USER": "sched",
        "SCHEDULING_NATS_PASSWORD": "pw",
        "QIANSHOU_FAULTS": "intake.after_commit, relay.after_publish",
    }
    settings = Settings.from_env("scheduling", env)
    assert settings.http.port == 9002 and settings.scheduling.daily_cap == 6
    assert settings.http.token_secrets == ("new", "old")
    assert (settings.http.rate_limit_per_s, settings.http.rate_burst) == (10.0, 20.0)
    assert (settings.nats.user, settings.nats.password) == ("sched", "pw")
    assert settings.database_url.endswith("/qianshou_scheduling")
    assert settings.testing.faults == {"intake.after_commit", "relay.after_publish"}
    # Blank counts as unset: the default holds.
    assert Settings.from_env("intake", {**env, "INTAKE_PORT": " "}).http.port == 8081
