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
    """Encrypt and store the personal data of the accepted client registrations (a few
    statements for the whole request, however many clients it registers)."""
    clients = [
        (seq, sub.event.agency_id, sub.event.payload)
        for seq, sub in items
        if sub.event is not None and isinstance(sub.event.payload, ClientRegistered)
    ]
    if not clients:
        return
    keys = await _client_keys(conn, vault, sorted({(a, p.client_id) for _, a, p in clients}))
    rows = []
    for seq, agency_id, p in clients:
        key, aad = keys[(agency_id, p.client_id)], client_aad(agency_id, p.client_id)
        rows.append(
            (
                agency_id,
                p.client_id,
                seq,
                vault.seal(key, p.name.encode(), aad),
                _seal(vault, key, p.id_number, aad),
                _seal(vault, key, p.phone, aad),
                vault.id_number_hmac(p.id_number) if p.id_number else None,
            )
        )
    await conn.copy_records_to_table(
        "client_personal",
        records=rows,
        columns=[
            "agency_id",
            "client_id",
            "event_seq",
            "name_enc",
            "id_number_enc",
            "phone_enc",
            "id_number_hmac",
        ],
    )


async def _client_keys(
    conn: asyncpg.Connection, vault: Vault, wanted: list[tuple[str, str]]
) -> dict[tuple[str, str], bytes]:
    """The data keys of these clients, made for those who have none yet."""
    agency_keys = {a: await _agency_key(conn, vault, a) for a in {a for a, _ in wanted}}
    fresh = [vault.seal(agency_keys[a], vault.new_key(), client_aad(a, c)) for a, c in wanted]
    # Insert what is missing (a concurrent request may win: then its key is the one read).
    await conn.execute(
        "INSERT INTO keyring.client_keys (agency_id, client_id, wrapped_key)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])"
        " ON CONFLICT (agency_id, client_id) DO NOTHING",
        [a for a, _ in wanted],
        [c for _, c in wanted],
        fresh,
    )
    rows = await conn.fetch(
        "SELECT k.agency_id, k.client_id, k.wrapped_key FROM keyring.client_keys k"
        " JOIN unnest($1::text[], $2::text[]) AS w(a, c) ON k.agency_id = w.a AND k.client_id = w.c",
        [a for a, _ in wanted],
        [c for _, c in wanted],
    )
    return {
        (r["agency_id"], r["client_id"]): vault.open(
            agency_keys[r["agency_id"]],
            r["wrapped_key"],
            client_aad(r["agency_id"], r["client_id"]),
        )
        for r in rows
    }


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
    conn: asyncpg.Connection, vault: Vault, agency_id: str, client_id: str
) -> bytes | None:
    """The client's data key, or None once it was erased."""
    wrapped = await conn.fetchval(
        "SELECT wrapped_key FROM keyring.client_keys WHERE agency_id = $1 AND client_id = $2",
        agency_id,
        client_id,
    )
    if wrapped is None:
        return None
    agency_key = await _agency_key(conn, vault, agency_id)
    return vault.open(agency_key, wrapped, client_aad(agency_id, client_id))


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
        key = await _client_key(conn, vault, agency_id, client_id)
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
