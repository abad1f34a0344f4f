"""Default security headers for every response; routes that may be framed set their own CSP first."""

from __future__ import annotations

import secrets

from litestar.types import Message, Scope

DEFAULTS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
    "referrer-policy": "no-referrer",
}


_DEFAULTS_RAW = [(name.encode(), value.encode()) for name, value in DEFAULTS.items()]


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Add each default the route did not set; a page that says who may frame it gets no X-Frame-Options.
    Works on the raw header list: this runs for every response."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {name.lower() for name, _ in headers}
    framable = any(
        name.lower() == b"content-security-policy" and b"frame-ancestors" in value for name, value in headers
    )
    for name, value in _DEFAULTS_RAW:
        if name not in present and not (framable and name == b"x-frame-options"):
            headers.append((name, value))
    message["headers"] = headers


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def embed_headers(parent_origin: str, nonce: str) -> dict[str, str]:
    """Headers of a page that ``parent_origin`` may frame (EMBEDDING.md "Headers"): no X-Frame-Options."""
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' https: data:",
            "connect-src 'self'",
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
    }


def hosted_headers(nonce: str) -> dict[str, str]:
    """Headers of a first-party portal page: the same nonce policy as embeds, but never framed; it may
    link its web-app manifest. Its referrer policy is ``same-origin``: no other site learns anything (as with
    ``no-referrer``; sign-in secrets travel in the fragment, which no Referer carries), while the page's own
    forms carry its ``Origin``, which ``check_same_origin`` asks of sign-in forms (``no-referrer`` makes it
    ``null``)."""
    headers = embed_headers("'none'", nonce)
    headers["content-security-policy"] += "; manifest-src 'self'"
    headers["x-frame-options"] = "DENY"
    headers["referrer-policy"] = "same-origin"
    return headers
