"""How console pages are answered: the portal's nonce CSP (never framed, may frame the portal's own pages for
the preview), no caching, and friendly pages for whatever goes wrong (never problem+json, never a trace).

A form that worked answers ``done``: 303 to a page, with what to say there (and a secret to show once)
sealed in a short-lived cookie that the next page shows and clears, so a reload never sends the form
again and the message is shown once."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from cryptography.fernet import InvalidToken
from litestar import Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException

from server.console.auth import SignInNeeded, cleared_cookie
from server.console.staff import may
from server.enums import StaffRole
from server.errors import DomainError, Invalid
from server.http.types import AnyRequest
from server.portal.rendering import render
from server.security.headers import hosted_headers, new_nonce
from server.state import app_state

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
FLASH = "ss_console_flash"
FLASH_SECONDS = 120
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
    request: AnyRequest,
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
    flash = _flash(request)
    page = {
        "nonce": nonce,
        "staff": staff,
        "path": request.url.path,
        "nav": NAV,
        "can": lambda role: staff is not None and may(staff.role, StaffRole(role)),
    }
    response = render(
        request,
        template,
        {**page, **flash, **context},
        status=status,
        headers={**console_headers(nonce), **(headers or {})},
    )
    if FLASH in request.cookies:
        response.cookies.append(_flash_cookie(""))
    return response


def see_other(location: str) -> Response[str]:
    return Response("", status_code=303, headers={"location": location, "cache-control": "no-store"})


def _flash_cookie(value: str) -> Cookie:
    return Cookie(
        key=FLASH,
        value=value,
        max_age=FLASH_SECONDS if value else 0,
        path="/console",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def done(
    request: AnyRequest, location: str, message: str, reveal: tuple[str, str] | None = None
) -> Response[str]:
    """303 to ``location``, which then says ``message`` once (and shows ``reveal``, a title and a secret,
    once). The cookie is encrypted: a secret in it is as safe as in the page it is shown on."""
    body = msgspec.json.encode({"message": message, "reveal": reveal}).decode()
    response = see_other(location)
    response.cookies.append(_flash_cookie(app_state(request).keyring.box.encrypt(body)))
    return response


def _flash(request: AnyRequest) -> dict[str, Any]:
    """What ``done`` left for this page to say; nothing when the cookie is missing or not ours."""
    sealed = request.cookies.get(FLASH)
    if not sealed:
        return {}
    try:
        found: dict[str, Any] = msgspec.json.decode(app_state(request).keyring.box.decrypt(sealed))
    except (InvalidToken, msgspec.DecodeError):
        return {}
    return {key: value for key, value in found.items() if value}


def error_page(request: AnyRequest, status: int, detail: str) -> Response[str]:
    title = STATUS_TITLES.get(status, "Something went wrong")
    return render_page(request, "console/error.html", status=status, title=title, detail=detail)


def on_domain_error(request: AnyRequest, exc: DomainError) -> Response[str]:
    """Sign-in needed: the sign-in page for a page, 401 for anything else; other errors as a page."""
    if isinstance(exc, SignInNeeded):
        if request.method == "GET":
            response: Response[str] = Response("", status_code=303, headers={"location": "/console/login"})
        else:
            response = error_page(request, 401, exc.detail)
        response.cookies.append(cleared_cookie())
        return response
    return error_page(request, exc.status, exc.detail)


def on_http_error(request: AnyRequest, exc: HTTPException) -> Response[str]:
    if exc.status_code >= 500:
        log.error("console error on %s %s: %s", request.method, request.url.path, exc.detail)
        return error_page(request, 500, "Something went wrong on our side; it has been logged.")
    return error_page(request, exc.status_code, exc.detail)


def on_unexpected(request: AnyRequest, exc: Exception) -> Response[str]:
    log.exception("unhandled console error on %s %s", request.method, request.url.path)
    return error_page(request, 500, "Something went wrong on our side; it has been logged.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
