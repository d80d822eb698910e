"""Readiness probes shared by the services: is the database answering, is NATS connected."""

from __future__ import annotations

import asyncio

import asyncpg
from faststream.nats import NatsBroker

from shared.broker import connected


async def database_ok(pool: asyncpg.Pool | None) -> bool:
    if pool is None:
        return False
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), timeout=2.0)
    except Exception:
        return False
    return True


def nats_ok(broker: NatsBroker) -> bool:
    return connected(broker)
