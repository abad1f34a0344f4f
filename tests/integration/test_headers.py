"""A headers snapshot over every route the app has: a new route cannot forget them."""

import re
import uuid

from litestar.routes import HTTPRoute

EMBED_ORIGIN = "https://app.example.com"
SAMPLES = {"uuid": str(uuid.uuid4()), "str": "x", "path": "loader.js", "int": "1"}


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+):(\w+)\}", lambda m: SAMPLES.get(m.group(2), "x"), path)


def _requests(app):
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method in sorted(route.methods):
            if method in {"HEAD", "OPTIONS"}:
                continue
            yield method, _concrete(route.path)


async def test_every_route_sends_the_security_headers(client, app):
    seen = hosted_pages = 0
    for method, path in _requests(app):
        params = {"view": "overview", "origin": EMBED_ORIGIN} if path == "/embed" else None
        response = await client.request(method, path, params=params)
        assert response.status_code < 500, (method, path, response.status_code)
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", (method, path)
        csp = headers.get("content-security-policy", "")
        if path == "/embed" and response.status_code == 200:
            assert f"frame-ancestors {EMBED_ORIGIN}" in csp
            assert "x-frame-options" not in headers
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["cache-control"] == "no-store"
        else:
            assert headers["x-frame-options"] == "DENY", (method, path)
            assert "frame-ancestors 'none'" in csp, (method, path)
        if path.startswith(("/embed/views", "/embed/session", "/portal/")):
            assert headers.get("cache-control") == "no-store", (method, path)
        # first-party portal pages (the ones that link a manifest): their own forms must carry their Origin
        first_party_page = "manifest-src 'self'" in csp
        expected = "same-origin" if first_party_page else "no-referrer"
        assert headers["referrer-policy"] == expected, (method, path)
        hosted_pages += first_party_page
        seen += 1
    assert seen >= 40
    assert hosted_pages >= 1
