"""The embed handshake (EMBEDDING.md): shell headers, token → session exchange, fragments, actions."""

import re
from datetime import timedelta

import pytest

from server import clock, i18n
from server.clock import FrozenClock, use_clock
from server.db.tables import Customer, WebhookEvent

from .conftest import PARENT


async def test_shell_is_framable_only_by_the_parent_and_carries_no_customer_data(client, customer):
    response = await client.get("/embed", params={"view": "settings", "origin": PARENT, "id": "abc"})
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert f"frame-ancestors {PARENT}" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<script nonce="{nonce}" src="/static/portal.js">' in response.text
    assert "x-frame-options" not in response.headers
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert customer.email not in response.text
    assert "unsafe-inline" not in csp


async def test_each_shell_gets_a_fresh_nonce(client):
    first = await client.get("/embed", params={"view": "settings", "origin": PARENT})
    second = await client.get("/embed", params={"view": "settings", "origin": PARENT})
    assert first.headers["content-security-policy"] != second.headers["content-security-policy"]


async def test_refused_origin_gets_a_readable_page_naming_it(client, org):
    response = await client.get(
        "/embed", params={"view": "settings", "origin": "https://evil.example.net", "org": org.org.slug}
    )
    assert response.status_code == 403
    assert "https://evil.example.net" in response.text
    assert "allowed origins" in response.text
    assert "frame-ancestors https://evil.example.net" in response.headers["content-security-policy"]


@pytest.mark.parametrize("origin", ["*", "not an origin", "http://evil.example.net"])
async def test_shell_refuses_origins_that_are_not_origins(client, origin):
    response = await client.get("/embed", params={"view": "settings", "origin": origin})
    assert response.status_code == 400


async def test_a_parent_origin_is_written_back_from_its_parts(client, mint):
    """The default port is dropped as browsers drop it; an IPv6 parent, which CSP cannot name, is refused
    instead of being written ``frame-ancestors http://::1:3000``."""
    shell = await client.get("/embed", params={"view": "settings", "origin": f"{PARENT}:443"})
    assert shell.status_code == 200
    assert f"frame-ancestors {PARENT};" in shell.headers["content-security-policy"]
    exchanged = await client.post("/embed/session", json={"token": mint(), "origin": f"{PARENT}:443"})
    assert exchanged.status_code == 201, exchanged.text
    ipv6 = await client.get("/embed", params={"view": "settings", "origin": "http://[::1]:3000"})
    assert ipv6.status_code == 400
    assert "::1" not in ipv6.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in ipv6.headers["content-security-policy"]
    refused = await client.post("/embed/session", json={"token": mint(), "origin": "http://[::1]:3000"})
    assert refused.status_code == 403


async def test_token_exchanges_once_for_a_session(client, mint):
    token = mint()
    first = await client.post("/embed/session", json={"token": token, "origin": PARENT})
    assert first.status_code == 201
    body = first.json()
    assert len(body["session"]) >= 32
    assert "settings" in body["views"]
    assert body["theme"]["--ss-primary"].startswith("#")
    replay = await client.post("/embed/session", json={"token": token, "origin": PARENT})
    assert replay.status_code == 401
    assert replay.json() == {"code": "token_replayed"}


async def test_exchange_from_an_origin_the_org_does_not_allow_is_refused(client, mint):
    response = await client.post(
        "/embed/session", json={"token": mint(), "origin": "https://other.example.org"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "origin_refused"


async def test_token_narrowed_to_another_origin_is_refused(client, mint):
    token = mint(origins=["http://localhost:3000"])
    response = await client.post("/embed/session", json={"token": token, "origin": PARENT})
    assert response.status_code == 401
    assert response.json() == {"code": "token_origin"}


async def test_tampered_token_is_refused(client, mint):
    token = mint()
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = await client.post("/embed/session", json={"token": tampered, "origin": PARENT})
    assert response.status_code == 401


async def test_view_fragment_needs_the_bearer_session(client, open_session, customer):
    assert (await client.get("/embed/views/settings")).status_code == 401
    session = await open_session()
    response = await client.get("/embed/views/settings", headers={"Authorization": f"Bearer {session}"})
    assert response.status_code == 200
    assert customer.email in response.text
    assert str(customer.id) in response.text
    assert "u-42" in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_views_outside_the_token_scope_are_not_found(client, open_session):
    session = await open_session(views=["overview"])
    response = await client.get("/embed/views/settings", headers={"Authorization": f"Bearer {session}"})
    assert response.status_code == 404


async def test_billing_update_saves_and_emits_customer_updated(client, open_session, customer, org):
    session = await open_session()
    response = await client.post(
        "/embed/views/settings/update_billing",
        data={
            "billing_name": "Ada L.",
            "company_name": "Analytical Engines",
            "tax_id": "GB123",
            "country": "gb",
        },
        headers={"Authorization": f"Bearer {session}"},
    )
    assert response.status_code == 200
    assert "Billing information saved." in response.text
    assert '"customer.updated"' in response.headers["x-selfserve-events"]
    row = await Customer.objects().where(Customer.id == customer.id).first()
    assert (row.billing_name, row.company_name, row.tax_id) == ("Ada L.", "Analytical Engines", "GB123")
    assert '"GB"' in row.billing_address if isinstance(row.billing_address, str) else row.billing_address
    events = await WebhookEvent.select(WebhookEvent.type).where(WebhookEvent.org == org.org.id)
    assert {"type": "customer.updated"} in events


async def test_invalid_billing_input_is_explained_and_saves_nothing(client, open_session, customer):
    """In the customer's language, never msgspec's English; the form comes back as typed."""
    headers = {"Authorization": f"Bearer {await open_session()}", "x-selfserve-locale": "de"}
    with i18n.use_locale("de"):
        check, email = (
            i18n.gettext("That could not be done. Please check what you entered and try again."),
            i18n.gettext("Please enter a valid email address."),
        )
    assert "Please" not in check + email
    for typed, message in ({"billing_name": "x" * 500}, check), ({"billing_email": "ada at home"}, email):
        form = {**typed, "tax_id_type": ""}  # as the page always sends it
        response = await client.post("/embed/views/settings/update_billing", data=form, headers=headers)
        assert response.status_code == 422
        assert f'<p class="ss-msg ss-error">{message}</p>' in response.text
        assert "Expected" not in response.text
        assert f'value="{next(iter(typed.values()))}"' in response.text
    row = await Customer.objects().where(Customer.id == customer.id).first()
    assert (row.billing_name, row.billing_email) == ("", "")


async def test_read_only_session_shows_no_form_and_refuses_writes(client, open_session, customer):
    session = await open_session(read_only=True)
    page = await client.get("/embed/views/settings", headers={"Authorization": f"Bearer {session}"})
    assert "<form" not in page.text
    response = await client.post(
        "/embed/views/settings/update_billing",
        data={"billing_name": "Nope"},
        headers={"Authorization": f"Bearer {session}"},
    )
    assert response.status_code == 403
    row = await Customer.objects().where(Customer.id == customer.id).first()
    assert row.billing_name == ""


async def test_idle_session_expires_and_a_fresh_token_renews_it(client, open_session, mint):
    frozen = FrozenClock(clock.now())
    with use_clock(frozen):
        session = await open_session()
        headers = {"Authorization": f"Bearer {session}"}
        frozen.advance(timedelta(minutes=29))
        renewed = await client.post(
            "/embed/session", json={"token": mint(), "origin": PARENT}, headers=headers
        )
        assert renewed.status_code == 201
        assert renewed.json()["session"] == session
        frozen.advance(timedelta(minutes=29))
        assert (await client.get("/embed/views/settings", headers=headers)).status_code == 200
        frozen.advance(timedelta(minutes=31))
        expired = await client.get("/embed/views/settings", headers=headers)
        assert expired.status_code == 401
        assert expired.json() == {"code": "session_expired"}


async def test_logout_ends_the_session_server_side(client, open_session):
    session = await open_session()
    headers = {"Authorization": f"Bearer {session}"}
    assert (await client.delete("/embed/session", headers=headers)).status_code == 204
    assert (await client.get("/embed/views/settings", headers=headers)).status_code == 401
