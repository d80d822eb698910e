"""Fixtures for the integration tests that drive reporting's projections directly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import fresh_reporting_database


@pytest.fixture(scope="module")
def database(pg_url: str) -> Iterator[str]:
    """A fresh reporting database with every migration applied, one per test module (its
    tests share it, each on agencies or histories of its own)."""
    yield fresh_reporting_database(pg_url)
