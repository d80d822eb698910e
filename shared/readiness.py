"""Readiness probes shared by the services: is the database answering, is NATS connected."""

from __future__ import annotations

import asyncio
from typing import Any

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


async def consuming_service(holder: dict[str, Any], broker: NatsBroker) -> dict[str, bool]:
    """Readiness of a service that consumes EVENTS: database, NATS, and its consumer bound."""
    consumer = holder.get("consumer")
    return {
        "database": await database_ok(holder.get("pool")),
        "nats": nats_ok(broker),
        "consuming": bool(consumer and consumer.alive),
    }
