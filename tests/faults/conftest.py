"""The `faults` marker, which tests/conftest.py adds to every test in this folder.

pyproject.toml does not register it yet and pytest runs with --strict-markers, so it is
registered here until it is (then this file can go)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault injection (SIGKILLs, NATS and PostgreSQL restarts)"
    )
