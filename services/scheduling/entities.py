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

from collections.abc import Mapping, Sequence
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
    return (agency_id, event_id) in await retracted_among(conn, [(agency_id, event_id)])


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
    conn: asyncpg.Connection,
    entity: Entity,
    versions: Sequence[tuple[Canonical, Mapping[str, object]]],
) -> list[Key]:
    """Keep the events' versions of an entity (a run in one round trip) and settle which
    version is in force; returns the entities' keys."""
    if not versions:
        return []
    early = await retracted_among(conn, [(e.agency_id, e.event_id) for e, _ in versions])
    rows = [
        {
            entity.event_agency: e.agency_id,
            **values,
            "event_id": e.event_id,
            "occurred_at": e.occurred_at,
            "recorded_at": e.recorded_at,
            "retracted": (e.agency_id, e.event_id) in early,
            "superseded": True,
        }
        for e, values in versions
    ]
    names = ", ".join(rows[0])
    params = ", ".join(f"${n}" for n in range(1, len(rows[0]) + 1))
    await conn.executemany(
        f"INSERT INTO {entity.table} ({names}) VALUES ({params}) ON CONFLICT DO NOTHING",
        [tuple(row.values()) for row in rows],
    )
    keys = sorted({tuple(str(row[c]) for c in entity.key) for row in rows})
    await settle(conn, entity, keys)
    return keys


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


async def without_force(conn: asyncpg.Connection, entity: Entity, keys: list[Key]) -> list[Key]:
    """Of these keys, those with no version in force (every one retracted)."""
    if not keys:
        return []
    cols = ", ".join(entity.key)
    arrays = ", ".join(f"${n}::text[]" for n in range(1, len(entity.key) + 1))
    rows = await conn.fetch(
        f"SELECT {cols} FROM unnest({arrays}) AS k({cols}) WHERE NOT EXISTS"
        f" (SELECT 1 FROM {entity.table} t WHERE ({', '.join('t.' + c for c in entity.key)})"
        f" = ({', '.join('k.' + c for c in entity.key)}) AND NOT t.superseded)"
        f" ORDER BY {cols}",
        *[[k[i] for k in keys] for i in range(len(entity.key))],
    )
    return [tuple(r) for r in rows]
