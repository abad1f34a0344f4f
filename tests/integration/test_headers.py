"""A headers snapshot over every route the app has: a new route cannot forget them."""

import dataclasses
import re
import uuid

import httpx
import pytest
from litestar.routes import HTTPRoute

from server.app import create_app

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
        assert headers["cross-origin-opener-policy"] == "same-origin", (method, path)
        assert headers["cross-origin-resource-policy"] in {"same-origin", "cross-origin"}, (method, path)
        if path.startswith("/v1/"):
            assert headers["cache-control"] == "no-store", (method, path)
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


SNAPSHOT_HEADERS = (
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cache-control",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "access-control-allow-origin",
    "strict-transport-security",
)
NONE_FRAMES = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
PAGE_POLICY = (
    "default-src 'none'; script-src 'nonce-N'; style-src 'self' 'nonce-N'; img-src 'self' https: data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors {frames}; object-src 'none'; base-uri 'none'"
)
API = {
    "content-security-policy": NONE_FRAMES,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
LOADER = {**API, "cross-origin-resource-policy": "cross-origin", "access-control-allow-origin": "*"}
SNAPSHOT = {
    "embed shell": {
        **API,
        "content-security-policy": PAGE_POLICY.format(frames=EMBED_ORIGIN),
        "x-frame-options": None,
        "cross-origin-resource-policy": "cross-origin",
    },
    "embed view": API,
    "embed session": API,
    "hosted portal": {
        **API,
        "content-security-policy": PAGE_POLICY.format(frames="'none'") + "; manifest-src 'self'",
        "referrer-policy": "same-origin",
    },
    "v1 list": API,
    "v1 new api key": API,
    "v1 invoice-less 404": API,
    "v1 unauthorized": API,
    "loader alias": {**LOADER, "cache-control": "public, max-age=300"},
    "loader alias HEAD": {**LOADER, "cache-control": "public, max-age=300"},
    "loader versioned": {**LOADER, "cache-control": "public, max-age=31536000, immutable"},
    "static file": {**API, "cache-control": None},
    "static file HEAD": {**API, "cache-control": None},
    "health": API,
    "health HEAD": API,
    "liveness": {**API, "cache-control": None},
}
"""The security headers of each route family, exactly (``N`` stands for the per-request nonce)."""


async def _family_responses(client, org, api_headers):
    from server.customers.schemas import CustomerCreate
    from server.customers.service import create_customer
    from server.portal.loader import loader_script
    from server.tokens import mint_portal_token

    customer = await create_customer(org.org.id, CustomerCreate(email="snap@example.com"))
    token = mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret)
    session = await client.post("/embed/session", json={"token": token, "origin": EMBED_ORIGIN})
    bearer = {"Authorization": f"Bearer {session.json()['session']}"}
    shell = {"view": "overview", "origin": EMBED_ORIGIN, "org": org.org.slug}
    return {
        "embed shell": await client.get("/embed", params=shell),
        "embed view": await client.get("/embed/views/overview", headers=bearer),
        "embed session": session,
        "hosted portal": await client.get(f"/portal/{org.org.slug}"),
        "v1 list": await client.get("/v1/customers", headers=api_headers),
        "v1 new api key": await client.post("/v1/api-keys", json={"name": "ci"}, headers=api_headers),
        "v1 invoice-less 404": await client.get(f"/v1/orders/{uuid.uuid4()}/invoice", headers=api_headers),
        "v1 unauthorized": await client.get("/v1/customers"),
        "loader alias": await client.get("/static/loader.js"),
        "loader alias HEAD": await client.head("/static/loader.js"),
        "loader versioned": await client.get(loader_script().path),
        "static file": await client.get("/static/portal.css"),
        "static file HEAD": await client.head("/static/portal.css"),
        "health": await client.get("/health"),
        "health HEAD": await client.head("/health"),
        "liveness": await client.get("/health/live"),
    }


@pytest.mark.parametrize("public_url", ["http://127.0.0.1:8000", "https://billing.example.com"])
async def test_headers_snapshot_of_every_route_family(settings, engine, org, api_headers, public_url):
    app = create_app(dataclasses.replace(settings, public_url=public_url), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=public_url) as client:
        responses = await _family_responses(client, org, api_headers)
    hsts = "max-age=31536000" if public_url.startswith("https:") else None
    seen = {}
    for family, response in responses.items():
        assert response.status_code < 500, (family, response.text)
        headers = {name: response.headers.get(name) for name in SNAPSHOT_HEADERS}
        if headers["content-security-policy"]:
            headers["content-security-policy"] = re.sub(
                r"'nonce-[^']+'", "'nonce-N'", headers["content-security-policy"]
            )
        seen[family] = headers
    expected = {
        family: {name: {**headers, "strict-transport-security": hsts}.get(name) for name in SNAPSHOT_HEADERS}
        for family, headers in SNAPSHOT.items()
    }
    assert seen == expected


async def test_head_is_answered_like_get_without_a_body(client):
    from server.portal.loader import loader_script

    for path in ("/static/loader.js", loader_script().path, "/static/portal.css", "/health", "/health/live"):
        got, head = await client.get(path), await client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-length"] == str(len(got.content)), path
        if path != "/static/portal.css":  # Litestar's static files answer HEAD without a content type
            assert head.headers["content-type"] == got.headers["content-type"], path
