"""Everything derived from ``SELFSERVE_SECRET_KEYS``, built once per app and handed to whoever needs it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from server.security.secrets import KeyedHasher, SecretBox


class Keyring:
    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("a Keyring needs at least one secret key")
        self.secret_keys = tuple(secret_keys)

    @cached_property
    def box(self) -> SecretBox:
        return SecretBox(self.secret_keys)

    @cached_property
    def api_key_hasher(self) -> KeyedHasher:
        return KeyedHasher(self.secret_keys, "api-key")
