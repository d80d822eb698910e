"""Clients' personal data in intake: kept encrypted on registration, read only with a
reason (and audited), erased on the owning agency's request (crypto-shredding)."""

from __future__ import annotations

from typing import Any

import asyncpg
from cryptography.exceptions import InvalidTag

from services.intake.domain import Submission
from services.intake.personal import Vault, client_aad
from shared.events import ClientRegistered
from shared.tokens import Principal


class Erased(Exception):
    """The client's key material was destroyed: its personal data is gone."""


async def keep(conn: asyncpg.Connection, vault: Vault, items: list[tuple[int, Submission]]) -> None:
    """Encrypt and store the personal data of the accepted client registrations."""
    for seq, sub in items:
        if sub.event is None or not isinstance(sub.event.payload, ClientRegistered):
            continue
        agency_id, payload = sub.event.agency_id, sub.event.payload
        aad = client_aad(agency_id, payload.client_id)
        key = await _client_key(conn, vault, agency_id, payload.client_id, create=True)
        assert key is not None
        await conn.execute(
            "INSERT INTO client_personal (agency_id, client_id, event_seq, name_enc,"
            " id_number_enc, phone_enc, id_number_hmac) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            agency_id,
            payload.client_id,
            seq,
            vault.seal(key, payload.name.encode(), aad),
            _seal(vault, key, payload.id_number, aad),
            _seal(vault, key, payload.phone, aad),
            vault.id_number_hmac(payload.id_number) if payload.id_number else None,
        )


def _seal(vault: Vault, key: bytes, value: str | None, aad: bytes) -> bytes | None:
    return vault.seal(key, value.encode(), aad) if value else None


async def _agency_key(conn: asyncpg.Connection, vault: Vault, agency_id: str) -> bytes:
    aad = f"agency/{agency_id}".encode()
    query = "SELECT wrapped_key FROM keyring.agency_keys WHERE agency_id = $1"
    wrapped = await conn.fetchval(query, agency_id)
    if wrapped is None:
        await conn.execute(
            "INSERT INTO keyring.agency_keys (agency_id, wrapped_key) VALUES ($1, $2)"
            " ON CONFLICT (agency_id) DO NOTHING",
            agency_id,
            vault.seal(vault.kek, vault.new_key(), aad),
        )
        wrapped = await conn.fetchval(query, agency_id)  # ours, or a concurrent request's
    return vault.open(vault.kek, wrapped, aad)


async def _client_key(
    conn: asyncpg.Connection, vault: Vault, agency_id: str, client_id: str, create: bool
) -> bytes | None:
    agency_key = await _agency_key(conn, vault, agency_id)
    aad = client_aad(agency_id, client_id)
    wrapped = await conn.fetchval(
        "SELECT wrapped_key FROM keyring.client_keys WHERE agency_id = $1 AND client_id = $2",
        agency_id,
        client_id,
    )
    if wrapped is None:
        if not create:
            return None
        wrapped = await conn.fetchval(
            "INSERT INTO keyring.client_keys (agency_id, client_id, wrapped_key) VALUES ($1, $2, $3)"
            " ON CONFLICT (agency_id, client_id)"
            " DO UPDATE SET wrapped_key = keyring.client_keys.wrapped_key RETURNING wrapped_key",
            agency_id,
            client_id,
            vault.seal(agency_key, vault.new_key(), aad),
        )
    return vault.open(agency_key, wrapped, aad)


def actor(principal: Principal) -> str:
    return f"{principal.caller}:{principal.token_id or '-'}"


async def read(
    pool: asyncpg.Pool,
    vault: Vault,
    principal: Principal,
    agency_id: str,
    client_id: str,
    reason: str,
) -> dict[str, Any] | None:
    """The newest personal data of a client, decrypted; the read is audited first."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT name_enc, id_number_enc, phone_enc FROM client_personal"
            " WHERE agency_id = $1 AND client_id = $2 ORDER BY event_seq DESC LIMIT 1",
            agency_id,
            client_id,
        )
        if row is None:
            return None
        await conn.execute(
            "INSERT INTO personal_data_audit (actor, agency_id, client_id, action, reason)"
            " VALUES ($1, $2, $3, 'read', $4)",
            actor(principal),
            agency_id,
            client_id,
            reason,
        )
        key = await _client_key(conn, vault, agency_id, client_id, create=False)
    # Outside the transaction: an attempt on erased data is audited like any other read.
    if key is None:
        raise Erased(client_id)
    aad = client_aad(agency_id, client_id)
    try:
        return {
            "client_id": client_id,
            "name": vault.open(key, row["name_enc"], aad).decode(),
            "id_number": _open(vault, key, row["id_number_enc"], aad),
            "phone": _open(vault, key, row["phone_enc"], aad),
        }
    except InvalidTag as exc:  # sealed under a key destroyed by an earlier erasure
        raise Erased(client_id) from exc


def _open(vault: Vault, key: bytes, blob: bytes | None, aad: bytes) -> str | None:
    return vault.open(key, blob, aad).decode() if blob else None


async def erase(
    pool: asyncpg.Pool, principal: Principal, agency_id: str, client_id: str, reason: str
) -> bool:
    """Destroy the client's key: its personal data becomes unreadable. False if unknown."""
    async with pool.acquire() as conn, conn.transaction():
        known = await conn.fetchval(
            "SELECT 1 FROM client_personal WHERE agency_id = $1 AND client_id = $2 LIMIT 1",
            agency_id,
            client_id,
        )
        if not known:
            return False
        await conn.execute(
            "DELETE FROM keyring.client_keys WHERE agency_id = $1 AND client_id = $2",
            agency_id,
            client_id,
        )
        # The ciphertexts are unreadable now; drop them and the ID number's HMAC as well,
        # which would otherwise still link the person's records.
        await conn.execute(
            "UPDATE client_personal SET name_enc = ''::bytea, id_number_enc = NULL,"
            " phone_enc = NULL, id_number_hmac = NULL WHERE agency_id = $1 AND client_id = $2",
            agency_id,
            client_id,
        )
        await conn.execute(
            "INSERT INTO client_erasures (agency_id, client_id, erased_by) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            agency_id,
            client_id,
            actor(principal),
        )
        await conn.execute(
            "INSERT INTO personal_data_audit (actor, agency_id, client_id, action, reason)"
            " VALUES ($1, $2, $3, 'erase', $4)",
            actor(principal),
            agency_id,
            client_id,
            reason,
        )
    return True
