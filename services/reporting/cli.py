"""`qianshou reporting …`: reporting's own commands."""

from __future__ import annotations

import argparse
import asyncio

import nats
import orjson

from services.reporting.app import MIGRATIONS, SHARED_TABLES
from services.reporting.rebuild import RebuildFailed, rebuild
from shared.db import open_pool
from shared.settings import ServiceSettings, nats_servers


async def _rebuild() -> dict[str, object]:
    settings = ServiceSettings.from_env("reporting")
    pool = await open_pool(settings.database_url, MIGRATIONS, SHARED_TABLES)
    nc = await nats.connect(
        servers=nats_servers(settings.nats_url),
        user=settings.nats_user,
        password=settings.nats_password,
    )
    try:
        return await rebuild(pool, nc)
    finally:
        await nc.close()
        await pool.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="qianshou reporting")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "rebuild",
        help="replay EVENTS into new projections beside the live ones, then swap them in",
    )
    parser.parse_args(argv)
    try:
        print(orjson.dumps(asyncio.run(_rebuild())).decode())
    except RebuildFailed as exc:
        print(orjson.dumps({"error": str(exc)}).decode())
        return 1
    except Exception as exc:  # could not even start (database or NATS unreachable…)
        why = f"rebuild did not start, the live figures are unchanged: {type(exc).__name__}: {exc}"
        print(orjson.dumps({"error": why}).decode())
        return 1
    return 0
