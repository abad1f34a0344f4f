"""Readiness and liveness (CONTRACT §5): ``/health`` is ready only while the database takes a write;
``/health/live`` says the process answers and touches nothing."""

from __future__ import annotations

import logging
from typing import Any

from litestar import HttpMethod, MediaType, Response, route

from server.db.engine import check_writable
from server.db.tables import Organization
from server.problems import problem
from server.security.headers import GET_AND_HEAD

log = logging.getLogger(__name__)


def _operation_id(_handler: Any, method: str, _path: Any) -> str:
    return "health" if method == HttpMethod.GET else "healthHead"


@route("/health", http_method=GET_AND_HEAD, tags=["system"], operation_id=_operation_id)
async def health() -> Response[dict[str, str]] | Response[bytes]:
    """200 when the database commits a small write within two seconds; 503 problem+json otherwise (a full
    disk, a read-only database, a write lock held elsewhere, the database down)."""
    try:
        await check_writable(Organization._meta.db)
    except Exception as exc:
        log.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
        return problem(503, "Service unavailable", "The database does not accept writes right now.")
    return Response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@route(
    "/health/live",
    http_method=GET_AND_HEAD,
    tags=["system"],
    operation_id="live",
    include_in_schema=False,
    media_type=MediaType.TEXT,
    sync_to_thread=False,
)
def live() -> str:
    """The process answers; nothing else is touched (the benchmark's bare-endpoint baseline)."""
    return "ok"
