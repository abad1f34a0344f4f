"""Liveness that means something: the database answered."""

from __future__ import annotations

from litestar import MediaType, Response, get

from server.db.engine import ping
from server.db.tables import Organization


@get("/health", tags=["system"], operation_id="health")
async def health() -> Response[dict[str, str]]:
    """200 when the database answers a trivial query, 503 otherwise."""
    try:
        await ping(Organization._meta.db)
    except Exception:
        return Response({"status": "unavailable"}, status_code=503, headers={"Cache-Control": "no-store"})
    return Response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@get("/health/live", tags=["system"], operation_id="live", include_in_schema=False, media_type=MediaType.TEXT)
async def live() -> str:
    """The process answers; nothing else is touched (the benchmark's bare-endpoint baseline)."""
    return "ok"
