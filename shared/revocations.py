"""Revoked tokens, shared by every service through a NATS key-value bucket.

`qianshou token revoke` writes the token's id (jti) into the bucket; each service follows
the bucket and refuses a revoked token from then on. Entries expire with the longest
token lifetime, so the bucket does not grow for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from shared.broker import raise_replicas, replicas
from shared.publishing import describe, no_leader

log = logging.getLogger(__name__)

BUCKET = "REVOKED_TOKENS"
KEEP_S = 400 * 24 * 3600  # longer than any token lives


async def bucket(js: JetStreamContext) -> KeyValue:
    """The revocation bucket (created with the same configuration by whoever comes first;
    on a cluster with three replicas, and an existing one with fewer is brought up)."""
    want = replicas(js)
    try:
        kv = await js.key_value(BUCKET)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=BUCKET, history=1, ttl=KEEP_S, replicas=want)
    await raise_replicas(js, f"KV_{BUCKET}", want)
    return kv


async def revoke(js: JetStreamContext, token_id: str, reason: str) -> None:
    """Put the id in the bucket; through an election the same put is simply repeated."""
    deadline = time.monotonic() + 60.0
    while True:
        try:
            await (await bucket(js)).put(token_id, reason.encode() or b"revoked")
            return
        except Exception as exc:
            if not no_leader(exc) or time.monotonic() > deadline:
                raise
            log.warning("revocation of %s: %s; retrying", token_id, describe(exc))
            await asyncio.sleep(1.0)


class Revoked:
    """The set of revoked token ids, kept current by following the bucket."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.loaded = False  # until the whole list has been read, no token is trusted

    def __contains__(self, token_id: object) -> bool:
        return token_id in self.ids

    async def follow(self, js: JetStreamContext) -> None:
        """Run until cancelled; reconnects to the bucket if the watch breaks."""
        while True:
            try:
                watcher = await (await bucket(js)).watchall()
                async for entry in watcher:
                    if entry is None:  # the initial values are all in
                        self.loaded = True
                        continue
                    if entry.operation in ("DEL", "PURGE"):
                        self.ids.discard(entry.key)
                    else:
                        self.ids.add(entry.key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("revocations: watch failed (%s); retrying", exc)
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(1.0)
