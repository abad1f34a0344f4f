"""How console pages are answered: the portal's nonce CSP (never framed, may frame the portal's own pages for
the preview), no caching, and friendly pages for whatever goes wrong (never problem+json, never a trace)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from server.console.auth import SignInNeeded, cleared_cookie
from server.console.staff import may
from server.db.enums import StaffRole
from server.errors import DomainError, Invalid
from server.portal.rendering import render
from server.security.headers import hosted_headers, new_nonce

log = logging.getLogger("selfserve.console")
NAV = (
    ("/console", "Home"),
    ("/console/customers", "Customers"),
    ("/console/portal", "Portal"),
    ("/console/developers", "Developers"),
    ("/console/analytics", "Analytics"),
    ("/console/team", "Team"),
)
"""The console's sections, in the order the nav shows them."""
STATUS_TITLES = {
    400: "This request could not be read",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "That changed in the meantime",
    422: "Please check what you entered",
    429: "Too many requests",
}


def api_input(data: dict[str, Any], schema: type[msgspec.Struct]) -> Any:
    """Form fields as the API's Struct, refused as the API refuses them (422 with the reason)."""
    try:
        return msgspec.convert(data, schema)
    except msgspec.ValidationError as exc:
        raise Invalid(str(exc)) from exc


def console_headers(nonce: str) -> dict[str, str]:
    """The hosted portal's policy (nonce scripts and styles, ``frame-ancestors 'none'``, X-Frame-Options
    DENY), plus frames of this server's own pages (the portal preview)."""
    headers = hosted_headers(nonce)
    headers["content-security-policy"] += "; frame-src 'self'"
    return headers


def render_page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """A console page. ``staff`` (when signed in) comes from the guard; templates read it for the nav, the
    CSRF field and which controls to show."""
    nonce = new_nonce()
    staff = request.state.get("staff")
    page = {
        "nonce": nonce,
        "staff": staff,
        "path": request.url.path,
        "nav": NAV,
        "can": lambda role: staff is not None and may(staff.role, StaffRole(role)),
    }
    return render(
        request,
        template,
        {**page, **context},
        status=status,
        headers={**console_headers(nonce), **(headers or {})},
    )


def see_other(location: str) -> Response[str]:
    return Response("", status_code=303, headers={"location": location, "cache-control": "no-store"})


def error_page(request: Request[Any, Any, Any], status: int, detail: str) -> Response[str]:
    title = STATUS_TITLES.get(status, "Something went wrong")
    return render_page(request, "console/error.html", status=status, title=title, detail=detail)


def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[str]:
    """Sign-in needed: the sign-in page for a page, 401 for anything else; other errors as a page."""
    if isinstance(exc, SignInNeeded):
        if request.method == "GET":
            response: Response[str] = Response("", status_code=303, headers={"location": "/console/login"})
        else:
            response = error_page(request, 401, exc.detail)
        response.cookies.append(cleared_cookie())
        return response
    return error_page(request, exc.status, exc.detail)


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[str]:
    if exc.status_code >= 500:
        log.error("console error on %s %s: %s", request.method, request.url.path, exc.detail)
        return error_page(request, 500, "Something went wrong on our side; it has been logged.")
    return error_page(request, exc.status_code, exc.detail)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    log.exception("unhandled console error on %s %s", request.method, request.url.path)
    return error_page(request, 500, "Something went wrong on our side; it has been logged.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
