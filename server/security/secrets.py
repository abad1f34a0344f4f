"""Secrets at rest (embed secrets, webhook secrets, license keys, mail bodies) and keyed hashes.

Each ``SELFSERVE_SECRET_KEYS`` entry is stretched with HKDF into one Fernet key per purpose; the newest key
encrypts, every key decrypts, and ``rotate`` re-encrypts under the newest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(secret: str, purpose: str) -> bytes:
    """32 bytes for ``purpose`` from one configured secret; different purposes never share a key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"selfserve.v1", info=purpose.encode())
    return hkdf.derive(secret.encode())


class SecretBox:
    """Encrypts short strings at rest with the configured key list (oldest first)."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("SecretBox needs at least one secret key")
        fernets = [Fernet(base64.urlsafe_b64encode(derive_key(k, "at-rest"))) for k in reversed(secret_keys)]
        self._newest = fernets[0]
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """``token`` sealed again under the newest key (``InvalidToken`` when no configured key opens it)."""
        return self._fernet.rotate(token.encode()).decode()

    def is_current(self, token: str) -> bool:
        """Whether the newest key alone opens ``token``."""
        try:
            self._newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True


class KeyedHasher:
    """HMAC-SHA256 lookups that survive key rotation: ``candidates`` gives the digest under every key."""

    def __init__(self, secret_keys: Sequence[str], purpose: str) -> None:
        self._keys = [derive_key(k, purpose) for k in reversed(secret_keys)]

    def digest(self, value: str) -> str:
        return hmac.new(self._keys[0], value.encode(), hashlib.sha256).hexdigest()

    def candidates(self, value: str) -> list[str]:
        return [hmac.new(k, value.encode(), hashlib.sha256).hexdigest() for k in self._keys]


def sha256_hex(value: str) -> str:
    """Plain SHA-256 for high-entropy random secrets (session ids, magic links), where a key adds nothing."""
    return hashlib.sha256(value.encode()).hexdigest()
