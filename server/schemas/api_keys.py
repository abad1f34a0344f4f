"""Secret API keys in and out: the key itself appears only in the creation response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from server.db.tables import ApiKey


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=100)] = ""


class ApiKeyOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    name: str
    display_prefix: str
    """The first characters of the key, to tell keys apart; never enough to use it."""
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyOut:
        return cls(
            id=str(row.id),
            name=row.name,
            display_prefix=row.display_prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class CreatedApiKeyOut(ApiKeyOut, frozen=True, kw_only=True):
    key: str
    """The secret key: shown in this response only. Store it in your secret store now."""
