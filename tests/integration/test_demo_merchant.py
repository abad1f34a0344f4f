"""The demo merchant app against a real HTTP server standing in for the portal server's API."""

from __future__ import annotations

import re
import socket
import uuid

import httpx
import pytest

from server.db.tables import Customer
from server.demo.merchant import SESSIONS_PATH, MerchantConfig, create_merchant_app
from server.demo.seed import seed_demo

API_KEY = "ss_sk_" + "k" * 46
MERCHANT_URL = "http://127.0.0.1:8001"
PORTAL_LINK = "http://portal.example/portal/acme#token=abc.def"


@pytest.fixture(scope="module")
async def demo_org(engine, keyring):
    created = await seed_demo(keyring, slug=f"acme-{uuid.uuid4().hex[:8]}")
    assert created is not None
    return created.org.id


async def _customer(org_id, email):
    return await Customer.select().where(Customer.org == org_id, Customer.email == email).first()


def _client(org_id, portal_url):
    config = MerchantConfig(org_id=org_id, portal_url=portal_url, api_key=API_KEY, merchant_url=MERCHANT_URL)
    transport = httpx.ASGITransport(app=create_merchant_app(config))
    return httpx.AsyncClient(transport=transport, base_url=MERCHANT_URL)


def _alert(html):
    found = re.search(r'role="alert">([^<]*)<', html)
    return found.group(1) if found else None


async def test_account_page_shows_the_chosen_customer_and_their_plan(demo_org, httpserver):
    ada = await _customer(demo_org, "ada@analytical-engines.example")
    async with _client(demo_org, httpserver.url_for("").rstrip("/")) as client:
        response = await client.get("/", params={"customer": str(ada["id"])})
    assert response.status_code == 200
    html = response.text
    assert "<h1>Account settings</h1>" in html
    assert f'<option value="{ada["id"]}" selected>' in html
    assert html.count("<option ") >= 20
    assert "Analytical Engines Ltd" in html
    assert "usr_1001" in html
    assert "<strong>Team</strong>" in html
    assert "$96.00 per month" in html
    assert "for 8 seats" in html
    assert "Manage subscription" in html
    assert API_KEY not in html
    nonce = re.search(r"style-src 'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
    assert f'<style nonce="{nonce}">' in html
    assert _alert(html) is None


async def test_the_first_customer_is_shown_when_none_is_chosen(demo_org, httpserver):
    async with _client(demo_org, httpserver.url_for("").rstrip("/")) as client:
        html = (await client.get("/")).text
    assert "<dt>Name</dt><dd>Ada Lovelace</dd>" in html


async def test_manage_subscription_opens_the_portal_by_external_id(demo_org, httpserver):
    ada = await _customer(demo_org, "ada@analytical-engines.example")
    httpserver.expect_oneshot_request(
        SESSIONS_PATH,
        method="POST",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"external_customer_id": "usr_1001", "return_url": f"{MERCHANT_URL}/?customer={ada['id']}"},
    ).respond_with_json({"id": "t1", "token": "abc.def", "customer_portal_url": PORTAL_LINK}, status=201)
    async with _client(demo_org, httpserver.url_for("").rstrip("/")) as client:
        response = await client.post("/billing/portal", data={"customer_id": str(ada["id"])})
    assert response.status_code == 303
    assert response.headers["location"] == PORTAL_LINK
    httpserver.check_assertions()


async def test_a_customer_without_external_id_is_sent_by_id(demo_org, httpserver):
    sofia = await _customer(demo_org, "sofia@olivar-estudio.example")
    assert sofia["external_id"] is None
    httpserver.expect_oneshot_request(
        SESSIONS_PATH,
        method="POST",
        json={"customer_id": str(sofia["id"]), "return_url": f"{MERCHANT_URL}/?customer={sofia['id']}"},
    ).respond_with_json({"customer_portal_url": PORTAL_LINK}, status=201)
    async with _client(demo_org, httpserver.url_for("").rstrip("/")) as client:
        response = await client.post("/billing/portal", data={"customer_id": str(sofia["id"])})
    assert response.status_code == 303
    httpserver.check_assertions()


async def test_a_portal_without_customer_sessions_gets_a_friendly_message(demo_org, httpserver):
    ada = await _customer(demo_org, "ada@analytical-engines.example")
    httpserver.expect_request(SESSIONS_PATH, method="POST").respond_with_json(
        {"title": "Not found", "status": 404, "detail": "Not Found"}, status=404
    )
    async with _client(demo_org, httpserver.url_for("").rstrip("/")) as client:
        response = await client.post("/billing/portal", data={"customer_id": str(ada["id"])})
    assert response.status_code == 502
    assert _alert(response.text) == "The portal server does not offer customer sessions yet."
    assert "<dt>Name</dt><dd>Ada Lovelace</dd>" in response.text


async def test_a_refusal_is_explained_with_the_portal_detail(demo_org, httpserver):
    ada = await _customer(demo_org, "ada@analytical-engines.example")
    httpserver.expect_request(SESSIONS_PATH, method="POST").respond_with_json(
        {"title": "Invalid", "status": 422, "detail": "return_url must be https"}, status=422
    )
    async with _client(demo_org, httpserver.url_for("").rstrip("/")) as client:
        response = await client.post("/billing/portal", data={"customer_id": str(ada["id"])})
    assert response.status_code == 502
    assert (
        _alert(response.text) == "The portal server refused to open a session (422): return_url must be https"
    )


async def test_an_unreachable_portal_is_reported(demo_org):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    ada = await _customer(demo_org, "ada@analytical-engines.example")
    async with _client(demo_org, closed) as client:
        response = await client.post("/billing/portal", data={"customer_id": str(ada["id"])})
    assert response.status_code == 502
    assert _alert(response.text) == f"The portal server at {closed} is not reachable."


async def test_unknown_customers_are_refused_without_calling_the_portal(demo_org, httpserver):
    async with _client(demo_org, httpserver.url_for("").rstrip("/")) as client:
        posted = await client.post("/billing/portal", data={"customer_id": str(uuid.uuid4())})
        shown = await client.get("/", params={"customer": str(uuid.uuid4())})
        malformed = await client.post("/billing/portal", data={"customer_id": "nope"})
    assert posted.status_code == 404
    assert _alert(posted.text) == "There is no such customer."
    assert _alert(shown.text) == "There is no such customer."
    assert malformed.status_code == 400
    assert httpserver.log == []
