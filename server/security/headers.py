"""Default security headers for every response; routes that may be framed set their own CSP first."""

from __future__ import annotations

import secrets

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

DEFAULTS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
    "referrer-policy": "no-referrer",
}


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    framable = (
        "content-security-policy" in headers and "frame-ancestors" in headers["content-security-policy"]
    )
    for name, value in DEFAULTS.items():
        if name == "x-frame-options" and framable:
            continue
        if name not in headers:
            headers[name] = value


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
    link its web-app manifest."""
    headers = embed_headers("'none'", nonce)
    headers["content-security-policy"] += "; manifest-src 'self'"
    headers["x-frame-options"] = "DENY"
    return headers
