"""Personal data of clients (names, ID numbers, phones): encrypted at rest, never published.

Each client has its own data key (AES-256-GCM), stored only wrapped by its agency's key,
which is stored only wrapped by the key-encryption key; that one lives outside the
database (QIANSHOU_PII_KEY or the local stack's secret file).
The ID number also gets a keyed HMAC, so the same person registered twice can be found
without decrypting anything; an unkeyed hash would be reversible by brute force.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.settings import IntakeSettings, local_secret

_NONCE = 12


@dataclass(frozen=True)
class Vault:
    kek: bytes
    hmac_key: bytes

    @classmethod
    def from_settings(cls, settings: IntakeSettings) -> Vault:
        """The vault under the configured master key (or the local stack's key file)."""
        master = bytes.fromhex(settings.pii_key_hex or local_secret("pii-key"))
        # Separate keys for separate jobs, derived from the one master secret.
        kek = hmac.new(master, b"qianshou key-encryption", hashlib.sha256).digest()
        mac = hmac.new(master, b"qianshou lookup-hmac", hashlib.sha256).digest()
        return cls(kek=kek, hmac_key=mac)

    @staticmethod
    def new_key() -> bytes:
        return AESGCM.generate_key(bit_length=256)

    @staticmethod
    def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)

    @staticmethod
    def open(key: bytes, blob: bytes, aad: bytes) -> bytes:
        return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], aad)

    def id_number_hmac(self, id_number: str) -> bytes:
        return hmac.new(self.hmac_key, id_number.upper().encode(), hashlib.sha256).digest()

    def content_key(self) -> bytes:
        return hmac.new(self.hmac_key, b"content fingerprint", hashlib.sha256).digest()


def client_aad(agency_id: str, client_id: str) -> bytes:
    """Binds a ciphertext to its client: it cannot be moved to another client's row."""
    return f"{agency_id}/{client_id}".encode()
