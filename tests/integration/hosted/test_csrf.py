"""Every write the app accepts with the hosted session cookie needs the page's CSRF token. The routes are
enumerated from the app, so a new route cannot forget it."""

import re
import uuid

from litestar.routes import HTTPRoute

from tests.integration.hosted.conftest import cookie_header, csrf_of

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC_WRITES = {
    "/portal/{slug:str}/login": "asks for a link; no session involved",
    "/portal/{slug:str}/session": "opens a link or token; the token is the credential",
    "/portal/{slug:str}/choose": "picks an account with a signed, single-use ticket from the link",
    "/portal/{slug:str}/claim": "claims a seat with the invitation's token",
    "/console/login": "asks for a console link; no session involved",
    "/console/session": "opens a console link; the link is the credential",
    "/console/code": "a console sign-in's second step, with the signed ticket its link gave",
}
"""Writes that never act on the session cookie (they refuse other sites' forms by Origin instead)."""


def _write_routes(app):
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method in sorted(route.methods & WRITES):
                yield method, route.path


def _concrete(path, slug):
    samples = {"slug": slug, "view": "settings", "action": "change_email"}
    return re.sub(
        r"\{(\w+):(\w+)\}",
        lambda m: samples.get(m.group(1), str(uuid.uuid4()) if m.group(2) == "uuid" else "x"),
        path,
    )


async def test_every_cookie_authenticated_write_needs_the_csrf_token(client, app, org, customer, sign_in):
    secret = await sign_in(customer)
    csrf = csrf_of((await client.get(f"/portal/{org.org.slug}", headers=cookie_header(secret))).text)
    checked = []
    for method, template in _write_routes(app):
        if template in PUBLIC_WRITES:
            continue
        path = _concrete(template, org.org.slug)
        without = await client.request(method, path, headers=cookie_header(secret), data={"x": "1"})
        assert without.status_code >= 400, (method, path, without.status_code)
        if without.status_code == 403 and "csrf" in without.text:
            with_token = await client.request(
                method, path, headers={**cookie_header(secret), "x-csrf-token": csrf}, data={"x": "1"}
            )
            assert "csrf" not in with_token.text, (method, path)
            checked.append(template)
        else:
            assert without.status_code in {400, 401, 404, 405, 415, 422}, (method, path, without.text)
    assert "/embed/views/{view:str}/{action:str}" in checked
    assert "/portal/{slug:str}/logout" in checked
    assert set(PUBLIC_WRITES) <= {path for _, path in _write_routes(app)}


async def test_a_wrong_csrf_token_is_refused_and_changes_nothing(client, org, customer, sign_in):
    secret = await sign_in(customer)
    response = await client.post(
        "/embed/views/settings/update_billing",
        data={"billing_name": "Mallory"},
        headers={**cookie_header(secret), "x-csrf-token": "guess"},
    )
    assert response.status_code == 403
    view = await client.get("/embed/views/settings", headers=cookie_header(secret))
    assert "Mallory" not in view.text


async def test_bearer_sessions_need_no_csrf_token(client, org, customer, api_headers):
    created = await client.post(
        "/v1/customer-sessions", json={"customer_id": str(customer.id)}, headers=api_headers
    )
    token = created.json()["token"]
    session = await client.post("/embed/session", json={"token": token, "origin": "https://app.example.com"})
    response = await client.post(
        "/embed/views/settings/update_billing",
        data={"billing_name": "Ada L."},
        headers={"authorization": f"Bearer {session.json()['session']}"},
    )
    assert response.status_code == 200
