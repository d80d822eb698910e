"""The `perf` marker, which tests/conftest.py puts on everything here. Registered here until
pyproject's markers list it (--strict-markers refuses an unregistered one)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "perf: the benchmark at CI size (counts, never speed)")
