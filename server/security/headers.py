"""Default security headers for every response; routes that may be framed set their own CSP first."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from litestar.enums import HttpMethod
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

DEFAULTS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
HSTS = "max-age=31536000"
"""Sent when the public URL is https: browsers then refuse plain http to this host for a year."""
API_PREFIX = "/v1/"
"""Every merchant API response carries secrets or customer data (one returns a new API key): ``no-store``."""

_CACHE_CONTROL, _NO_STORE = b"cache-control", b"no-store"


def security_headers(public_url: str) -> BeforeMessageSendHookHandler:
    """The ``before_send`` hook that adds each default the route did not set (a page that says who may frame
    it gets no X-Frame-Options), HSTS behind an https public URL, and ``no-store`` on the merchant API.
    Works on the raw header list: this runs for every response."""
    defaults = [(name.encode(), value.encode()) for name, value in DEFAULTS.items()]
    if urlsplit(public_url).scheme == "https":
        defaults.append((b"strict-transport-security", HSTS.encode()))

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or [])
        if scope["path"].startswith(API_PREFIX):
            headers = [(name, value) for name, value in headers if name.lower() != _CACHE_CONTROL]
            headers.append((_CACHE_CONTROL, _NO_STORE))
        present = {name.lower() for name, _ in headers}
        framable = any(
            name.lower() == b"content-security-policy" and b"frame-ancestors" in value
            for name, value in headers
        )
        for name, value in defaults:
            if name not in present and not (framable and name == b"x-frame-options"):
                headers.append((name, value))
        message["headers"] = headers

    return add_security_headers


GET_AND_HEAD = [HttpMethod.GET, HttpMethod.HEAD]
"""``http_method`` of a GET route that answers HEAD too."""


async def drop_head_body(message: Message, scope: Scope) -> None:
    """A ``HEAD`` answered by a GET handler (``GET_AND_HEAD``) keeps the GET's headers, ``content-length``
    included, and sends no body."""
    if message["type"] == "http.response.body" and scope.get("method") == "HEAD":
        message["body"] = b""


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def embed_headers(parent_origin: str, nonce: str, processor: tuple[str, ...] = ()) -> dict[str, str]:
    """Headers of a page that ``parent_origin`` may frame (EMBEDDING.md "Headers"): no X-Frame-Options, and a
    cross-origin resource policy, since a merchant page that isolates itself (COEP) asks that of its frames;
    ``frame-ancestors`` is what decides who may embed it. ``processor``: the origins of a card processor's
    script (Stripe.js), which the page may then load, frame and call; only for merchants on that processor."""
    extra = "".join(f" {origin}" for origin in processor)
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'{extra}",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' https: data:",
            f"connect-src 'self'{extra}",
            *((f"frame-src{extra}",) if processor else ()),
            "form-action 'self'",
            f"frame-ancestors {parent_origin}",
            "object-src 'none'",
            "base-uri 'none'",
        )
    )
    return {
        "content-security-policy": policy,
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "cross-origin-resource-policy": "cross-origin",
    }


def hosted_headers(nonce: str, processor: tuple[str, ...] = ()) -> dict[str, str]:
    """Headers of a first-party portal page: the same nonce policy as embeds, but never framed; it may
    link its web-app manifest. Its referrer policy is ``same-origin``: no other site learns anything (as with
    ``no-referrer``; sign-in secrets travel in the fragment, which no Referer carries), while the page's own
    forms carry its ``Origin``, which ``check_same_origin`` asks of sign-in forms (``no-referrer`` makes it
    ``null``)."""
    headers = embed_headers("'none'", nonce, processor)
    headers["content-security-policy"] += "; manifest-src 'self'"
    headers["x-frame-options"] = "DENY"
    headers["referrer-policy"] = "same-origin"
    headers["cross-origin-resource-policy"] = "same-origin"
    return headers
