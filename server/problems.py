"""Every error leaves as RFC 9457 problem+json, except that a person's browser opening a page gets a styled
page in their language; no stack trace ever reaches a client."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import msgspec
from litestar import Response
from litestar.exceptions import HTTPException, ValidationException

from server import i18n
from server.access_log import redact_target
from server.errors import DomainError, problem_type
from server.http.types import AnyRequest

log = logging.getLogger("selfserve")

PROBLEM_MEDIA_TYPE = "application/problem+json"
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}
_DB_UNAVAILABLE: tuple[type[BaseException], ...] = (ConnectionError, OSError, sqlite3.OperationalError)
try:  # asyncpg is installed with piccolo[postgres]
    import asyncpg

    _DB_UNAVAILABLE += (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError,
    )
except ImportError:  # pragma: no cover - the extra is always installed
    pass


def problem(
    status: int,
    title: str,
    detail: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[bytes]:
    """RFC 9457 problem+json; ``code`` (a domain error's, else the status's) names the ``type`` and is sent
    as is for clients that switch on it."""
    code = code or _HTTP_CODES.get(status, "error")
    body = {
        "type": problem_type(code),
        "code": code,
        "title": title,
        "status": status,
        "detail": str(detail),  # a Said (a str subclass) encodes as its text
        **extra,
    }
    headers = {**(headers or {}), "Cache-Control": "no-store"}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(
        msgspec.json.encode(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _for_a_person(request: AnyRequest) -> bool:
    """A browser navigating to a page (it asks for HTML), not the API nor the portal's own fetches."""
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/v1/")


def _page(request: AnyRequest, response: Response[bytes]) -> Response[bytes]:
    """``response`` as a page for a person, when the request came from one: same status and headers."""
    if not _for_a_person(request) or request.app.template_engine is None:
        return response
    language = i18n.negotiate(*i18n.accept_language(request.headers.get("accept-language")))
    with i18n.use_locale(language):
        html = request.app.template_engine.get_template("site/error.html").render(
            status=response.status_code, locale=language
        )
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return Response(html.encode(), status_code=response.status_code, media_type="text/html", headers=headers)


def domain_error_handler(request: AnyRequest, exc: DomainError) -> Response[bytes]:
    """``extra`` carries what a kind of error adds (a rate limit's ``retry_after``)."""
    return _page(request, problem(exc.status, exc.title, exc.detail, exc.code, **exc.extra))


def http_error_handler(request: AnyRequest, exc: HTTPException) -> Response[bytes]:
    return _page(request, _http_problem(exc))


def _http_problem(exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    title = _HTTP_CODES.get(status, "error").replace("_", " ").capitalize()
    if isinstance(exc, ValidationException):
        errors = [
            {"message": str(e.get("message", "")), "field": str(e.get("key", ""))}
            for e in (exc.extra if isinstance(exc.extra, list) else [])
            if isinstance(e, dict)
        ]
        return problem(status, "Invalid request", exc.detail, errors=errors)
    if status >= 500:
        return problem(status, title, "The server could not handle this request.")
    return problem(status, title, exc.detail, headers=exc.headers)


def unexpected_error_handler(request: AnyRequest, exc: Exception) -> Response[bytes]:
    path = redact_target(request.url.path)  # a download link's token is a credential
    if isinstance(exc, _DB_UNAVAILABLE):
        log.error("database unavailable on %s %s: %s", request.method, path, type(exc).__name__)
        return _page(
            request,
            problem(503, "Service unavailable", "The service is temporarily unavailable; try again shortly."),
        )
    log.exception("unhandled error on %s %s", request.method, path)
    failed = problem(500, "Internal server error", "Something went wrong on our side; it has been logged.")
    return _page(request, failed)
