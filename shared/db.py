"""PostgreSQL: one database per service, created on first start and migrated from plain
numbered SQL files (`services/<name>/migrations/NNN_what.sql`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from shared.settings import with_database

log = logging.getLogger(__name__)
_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x51A45  # advisory lock: two processes of a service never migrate at once


async def ensure_database(database_url: str) -> None:
    """Create the database named in `database_url` if it does not exist yet."""
    name = urlsplit(database_url).path.lstrip("/")
    conn = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
                log.info("created database %s", name)
            except asyncpg.DuplicateDatabaseError:
                pass  # created by a sibling process in the meantime
    finally:
        await conn.close()


def migration_files(folder: Path) -> list[tuple[int, Path]]:
    """The numbered SQL files of a service, in order."""
    found = []
    for path in folder.glob("*.sql"):
        match = _MIGRATION.match(path.name)
        if not match:
            raise ValueError(f"migration file name not of the form NNN_name.sql: {path.name}")
        found.append((int(match.group(1)), path))
    found.sort()
    numbers = [n for n, _ in found]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"two migrations share a number in {folder}")
    return found


async def migrate(conn: asyncpg.Connection, folder: Path, schemas: Sequence[str] = ()) -> list[int]:
    """Create the shared tables the service uses (`schemas`: idempotent DDL declared by the
    code that uses them, e.g. shared/outbox.py), then apply the service's migrations not
    applied yet, each in its own transaction; returns those applied."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    applied: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        for schema in schemas:
            await conn.execute(schema)
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for number, path in migration_files(folder):
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    number,
                    path.name,
                )
            applied.append(number)
            log.info("applied migration %s", path.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied


async def open_pool(
    database_url: str, migrations: Path, schemas: Sequence[str] = (), max_size: int = 10
) -> asyncpg.Pool:
    """Create the database if needed, migrate it, and return a connection pool."""
    await ensure_database(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, migrations, schemas)
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=max_size)
    assert pool is not None
    return pool


# SQLSTATEs that say the database cannot do the work now, whatever the work is: waited
# out by consumers (the batch is held) and answered 503 by HTTP, never blamed on an event.
# Whole classes: 08 connection exception, 53 insufficient resources (disk full, out of
# memory, too many connections), 57 operator intervention (admin/crash shutdown, cannot
# connect now, query canceled = statement timeout), 58 system error (I/O), 72 snapshot too
# old. Single codes where the rest of their class is the statement's own fault.
_TRANSIENT_CLASSES = frozenset({"08", "53", "57", "58", "72"})
_TRANSIENT_CODES = frozenset(
    {
        "25006",  # read_only_sql_transaction: a standby after failover, or read-only set
        "25P03",  # idle_in_transaction_session_timeout
        "40001",  # serialization_failure
        "40003",  # statement_completion_unknown
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available: lock_timeout
        "55006",  # object_in_use
    }
)


def transient_sqlstate(sqlstate: str | None) -> bool:
    """Whether a SQLSTATE says "not now" (the database) rather than "never" (the data)."""
    if not sqlstate:
        return False
    return sqlstate in _TRANSIENT_CODES or sqlstate[:2] in _TRANSIENT_CLASSES


def unavailable(exc: BaseException) -> bool:
    """Errors that say the database cannot do the work now (unreachable, failing over,
    read-only, full, out of memory, timed out, in a serialization conflict), not that the
    events or the request are bad. Follows `raise ... from` chains."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(
            seen,
            (
                OSError,  # refused, reset, unreachable
                TimeoutError,  # pool acquire or connect timed out
                asyncpg.PostgresConnectionError,
                asyncpg.InterfaceError,  # e.g. the connection was closed under us
                asyncpg.exceptions.OutdatedSchemaCacheError,  # a migration ran meanwhile
            ),
        ):
            return True
        if isinstance(seen, asyncpg.PostgresError) and transient_sqlstate(
            getattr(seen, "sqlstate", None)
        ):
            return True
        seen = seen.__cause__
    return False
