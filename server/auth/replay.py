"""Single-use ids (portal token ``jti``s): burning one is atomic, so of many concurrent redemptions exactly
one wins. The database (``ss_used_token``) by default; Redis when ``SELFSERVE_REDIS_URL`` is set."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Protocol
from uuid import UUID

from server import clock
from server.db.point_reads import write
from server.db.tables import UsedToken


class ReplayStore(Protocol):
    async def burn(self, jti: str, org_id: UUID, expires_at: datetime) -> bool:
        """Mark ``jti`` used; True only for the first caller."""


class DatabaseReplayStore:
    async def burn(self, jti: str, org_id: UUID, expires_at: datetime) -> bool:
        rows = await write(
            "INSERT INTO ss_used_token (id, jti, org, expires_at, used_at) VALUES ({}, {}, {}, {}, {}) "
            "ON CONFLICT (jti) DO NOTHING RETURNING id",
            uuid.uuid4(),
            jti,
            org_id,
            expires_at,
            clock.now(),
        )
        return bool(rows)

    async def forget_expired(self) -> int:
        """Drop ids whose tokens have expired anyway (they can no longer be replayed)."""
        rows = await UsedToken.delete().where(UsedToken.expires_at < clock.now()).returning(UsedToken.id)
        return len(rows)


class RedisReplayStore:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)

    async def burn(self, jti: str, org_id: UUID, expires_at: datetime) -> bool:
        ttl = max(1, math.ceil((expires_at - clock.now()).total_seconds()))
        return bool(await self._redis.set(f"selfserve:jti:{jti}", str(org_id), nx=True, ex=ttl))

    async def close(self) -> None:
        await self._redis.aclose()


def replay_store_for(redis_url: str | None) -> DatabaseReplayStore | RedisReplayStore:
    return RedisReplayStore(redis_url) if redis_url else DatabaseReplayStore()
