"""Secret API keys: ``ss_sk_`` + 40 base62 characters + a 6-character checksum (CONTRACT §6).

The checksum lets us refuse a mistyped or made-up key before touching the database.
"""

from __future__ import annotations

import re
import secrets
import zlib

PREFIX = "ss_sk_"
BODY_LENGTH = 40
CHECKSUM_LENGTH = 6
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_LENGTH = len(PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
_SHAPE = re.compile(f"{PREFIX}[0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}}")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate_api_key() -> str:
    body = "".join(secrets.choice(BASE62) for _ in range(BODY_LENGTH))
    return PREFIX + body + _checksum(body)


def is_well_formed(key: str) -> bool:
    """Shape and checksum only; says nothing about whether the key exists."""
    if _SHAPE.fullmatch(key) is None:
        return False
    body, checksum = key[len(PREFIX) : -CHECKSUM_LENGTH], key[-CHECKSUM_LENGTH:]
    return secrets.compare_digest(_checksum(body), checksum)


def display_prefix(key: str) -> str:
    """Enough of a key to tell keys apart in a list, never enough to use it."""
    return key[: len(PREFIX) + 4]
