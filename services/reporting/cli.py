"""`qianshou reporting …`: reporting's own commands."""

from __future__ import annotations

import argparse
import asyncio

import nats
import orjson

from services.reporting.app import MIGRATIONS, SHARED_TABLES
from services.reporting.rebuild import rebuild
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
    sub.add_parser("rebuild", help="drop the projections and replay EVENTS from the start")
    parser.parse_args(argv)
    print(orjson.dumps(asyncio.run(_rebuild())).decode())
    return 0
