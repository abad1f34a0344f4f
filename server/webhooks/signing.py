"""Standard Webhooks v1 (https://www.standardwebhooks.com): secrets, message bodies and signatures.

A receiver using the public ``standardwebhooks`` package verifies what this module produces unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32


def generate_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def message_body(type: str, created_at: datetime, data: Any) -> bytes:
    """The JSON body ``{"type", "timestamp", "data"}``: the same bytes on every attempt of one event."""
    return msgspec.json.encode({"type": type, "timestamp": created_at.isoformat(), "data": data})


def signature_header(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` per secret, space-separated (two during rotation)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_secret_key(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets_
    )


def webhook_headers(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }
