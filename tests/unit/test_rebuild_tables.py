"""Every table of reporting's database is either made again by `qianshou reporting
rebuild` (a projection) or deliberately kept: a new table that is neither would keep its
old rows through a rebuild, and a rebuild killed half-way would have written it live."""

from __future__ import annotations

import re

from services.reporting import projections, rebuild
from services.reporting.app import MIGRATIONS, SHARED_TABLES

_CREATED = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)", re.I)


def _tables() -> set[str]:
    sql = [path.read_text() for path in sorted(MIGRATIONS.glob("*.sql"))] + list(SHARED_TABLES)
    return {name.lower() for text in sql for name in _CREATED.findall(text)}


def test_every_table_is_rebuilt_or_kept() -> None:
    rebuilt, kept = set(projections.PROJECTION_TABLES), set(rebuild.KEPT)
    found = _tables() | {"schema_migrations"}  # shared/db.py makes it for every service
    assert not found - rebuilt - kept, (
        f"{sorted(found - rebuilt - kept)}: add each to projections.PROJECTION_TABLES (made"
        " again from EVENTS by a rebuild) or to rebuild.KEPT (left as it is)"
    )
    assert not rebuilt & kept
    assert rebuilt <= found, f"{sorted(rebuilt - found)} are rebuilt but never created"
