"""Default security headers for every response; routes that may be framed set their own CSP first."""

from __future__ import annotations

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
