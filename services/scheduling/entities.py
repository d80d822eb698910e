"""Workers, clients, pairings and projects as scheduling keeps them: by the rule of SPEC 3.6
(business identity) that reporting and shared/regions.py apply too.

Every registration is kept as a version, keyed by its event. The version in force is the
newest not retracted: newest by `occurred_at`, then intake's `recorded_at` (a registration
with the same `occurred_at` as an earlier one replaces it), then event key. So a
registration that arrives late with an older `occurred_at` changes nothing, and retracting
the one in force falls back to the one before it. Versions not in force are `superseded`;
every read takes `NOT superseded`. A retraction that arrives before its target is
remembered (`retractions_seen`) and the target is then kept as retracted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from shared.events import Canonical

Key = tuple[str, ...]


@dataclass(frozen=True)
class Entity:
    table: str
    event_agency: str  # the column holding the agency of the event that made the version
    key: tuple[str, ...]  # the business key's columns

    def settle_sql(self) -> str:
        cols = ", ".join(self.key)
        arrays = ", ".join(f"${n}::text[]" for n in range(1, len(self.key) + 1))
        order = f"retracted, occurred_at DESC, recorded_at DESC, {self.event_agency} DESC"
        return f"""
WITH ranked AS (
    SELECT {self.event_agency} AS ea, event_id AS ee, NOT retracted AND row_number() OVER (
               PARTITION BY {cols} ORDER BY {order}, event_id DESC) = 1 AS wins
    FROM {self.table} JOIN unnest({arrays}) AS k({cols}) USING ({cols})
)
UPDATE {self.table} t SET superseded = NOT r.wins FROM ranked r
WHERE t.{self.event_agency} = r.ea AND t.event_id = r.ee AND t.superseded = r.wins"""


WORKERS = Entity("workers", "agency_id", ("agency_id", "worker_id"))
CLIENTS = Entity("clients", "agency_id", ("agency_id", "client_id"))
PAIRINGS = Entity("pairings", "agency_id", ("pairing_id",))
PROJECTS = Entity("projects", "event_agency", ("project_id",))
ENTITIES = (WORKERS, CLIENTS, PAIRINGS, PROJECTS)


async def retracted_before(conn: asyncpg.Connection, agency_id: str, event_id: str) -> bool:
    """The event's retraction came first (references arrive in any order)."""
    return bool(
        await conn.fetchval(
            "SELECT true FROM retractions_seen WHERE agency_id = $1 AND target_event_id = $2",
            agency_id,
            event_id,
        )
    )


async def retracted_among(
    conn: asyncpg.Connection, keys: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Of these event keys (agency, event id), those whose retraction came first."""
    rows = await conn.fetch(
        "SELECT agency_id, target_event_id FROM retractions_seen"
        " JOIN unnest($1::text[], $2::text[]) AS k(agency_id, target_event_id)"
        " USING (agency_id, target_event_id)",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["agency_id"], r["target_event_id"]) for r in rows}


async def record(
    conn: asyncpg.Connection, entity: Entity, event: Canonical, values: Mapping[str, object]
) -> Key:
    """Keep the event's version of an entity and settle which version is in force;
    returns the entity's key."""
    row: dict[str, object] = {
        entity.event_agency: event.agency_id,
        **values,
        "event_id": event.event_id,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "retracted": await retracted_before(conn, event.agency_id, event.event_id),
        "superseded": True,
    }
    names = ", ".join(row)
    params = ", ".join(f"${n}" for n in range(1, len(row) + 1))
    await conn.execute(
        f"INSERT INTO {entity.table} ({names}) VALUES ({params}) ON CONFLICT DO NOTHING",
        *row.values(),
    )
    key = tuple(str(row[c]) for c in entity.key)
    await settle(conn, entity, [key])
    return key


async def retract(
    conn: asyncpg.Connection, agency_id: str, event_id: str
) -> dict[Entity, list[Key]]:
    """Retract the version the event made, if any; its entity falls back to the version
    before it. Returns the keys touched, per entity."""
    touched: dict[Entity, list[Key]] = {}
    for entity in ENTITIES:
        rows = await conn.fetch(
            f"UPDATE {entity.table} SET retracted = true WHERE {entity.event_agency} = $1"
            f" AND event_id = $2 AND NOT retracted RETURNING {', '.join(entity.key)}",
            agency_id,
            event_id,
        )
        keys = [tuple(r) for r in rows]
        if keys:
            await settle(conn, entity, keys)
            touched[entity] = keys
    return touched


async def settle(conn: asyncpg.Connection, entity: Entity, keys: list[Key]) -> None:
    """Mark, for each key, the version in force (if any) and every other one superseded."""
    columns = [[k[i] for k in keys] for i in range(len(entity.key))]
    await conn.execute(entity.settle_sql(), *columns)


async def in_force(conn: asyncpg.Connection, entity: Entity, key: Key) -> bool:
    where = " AND ".join(f"{c} = ${n}" for n, c in enumerate(entity.key, start=1))
    return bool(
        await conn.fetchval(
            f"SELECT true FROM {entity.table} WHERE {where} AND NOT superseded LIMIT 1", *key
        )
    )
