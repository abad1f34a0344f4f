"""customer_portal_url's fragment token and email-change links become the same first-party session."""

from datetime import timedelta

import msgspec

from server.db.tables import Customer, Organization, WebhookEvent
from server.schemas.portal_settings import PortalSettings, dump_portal_settings
from tests.integration.hosted.conftest import (
    cookie_header,
    csrf_of,
    emailed_token,
    open_token,
    session_cookie,
)


async def _portal_token(client, customer, api_headers):
    created = await client.post(
        "/v1/customer-sessions", json={"customer_id": str(customer.id)}, headers=api_headers
    )
    assert created.status_code == 201, created.text
    return created.json()["customer_portal_url"].split("#token=", 1)[1]


async def test_customer_portal_url_becomes_a_cookie_session(client, org, customer, api_headers):
    token = await _portal_token(client, customer, api_headers)
    opened = await open_token(client, org, token)
    assert opened.status_code == 303
    cookie = session_cookie(opened)
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    overview = await client.get("/embed/views/overview", headers=cookie_header(cookie.value))
    assert "Hello Ada Lovelace!" in overview.text

    replayed = await open_token(client, org, token)
    assert replayed.status_code == 410
    assert f'value="{customer.email}"' in replayed.text


async def test_an_expired_portal_token_offers_a_link_with_the_email(
    client, org, customer, api_headers, frozen
):
    token = await _portal_token(client, customer, api_headers)
    frozen.advance(timedelta(hours=2))
    expired = await open_token(client, org, token)
    assert expired.status_code == 410
    assert f'value="{customer.email}"' in expired.text
    assert "Send me a new link" in expired.text


async def test_a_tampered_token_is_refused_without_an_email(client, org, customer, api_headers):
    token = await _portal_token(client, customer, api_headers)
    refused = await open_token(client, org, token[:-3] + "abc")
    assert refused.status_code == 410
    assert customer.email not in refused.text


async def test_email_change_applies_only_when_the_link_is_opened(
    client, org, customer, sign_in, inbox, smtp_context
):
    secret = await sign_in(customer)
    page = await client.get(f"/portal/{org.org.slug}", headers=cookie_header(secret))
    settings = await client.get("/embed/views/settings", headers=cookie_header(secret))
    assert 'data-action="change_email"' in settings.text
    new_email = customer.email.replace("ada-", "ada.new-")

    asked = await client.post(
        "/embed/views/settings/change_email",
        data={"new_email": new_email},
        headers={**cookie_header(secret), "x-csrf-token": csrf_of(page.text)},
    )
    assert asked.status_code == 200, asked.text
    assert f"We sent a link to {new_email}" in asked.text
    row = await Customer.select(Customer.email).where(Customer.id == customer.id).first()
    assert row["email"] == customer.email

    _url, token = await emailed_token(inbox, smtp_context, new_email)
    opened = await open_token(client, org, token)
    assert opened.status_code == 303
    assert opened.headers["location"].endswith("?view=settings")
    row = await Customer.select(Customer.email).where(Customer.id == customer.id).first()
    assert row["email"] == new_email
    events = await WebhookEvent.select(WebhookEvent.payload).where(
        WebhookEvent.org == org.org.id, WebhookEvent.type == "customer.updated"
    )
    assert any(msgspec.json.decode(e["payload"])["email"] == new_email for e in events)
    assert (await open_token(client, org, token)).status_code == 410


async def test_email_change_is_hidden_and_refused_when_the_merchant_turns_it_off(
    client, org, customer, sign_in
):
    settings = PortalSettings()
    settings.features.email_change = False
    _branding, portal_settings = dump_portal_settings(settings)
    await Organization.update({Organization.portal_settings: portal_settings}).where(
        Organization.id == org.org.id
    )
    secret = await sign_in(customer)
    page = await client.get(f"/portal/{org.org.slug}", headers=cookie_header(secret))
    view = await client.get("/embed/views/settings", headers=cookie_header(secret))
    assert 'data-action="change_email"' not in view.text
    refused = await client.post(
        "/embed/views/settings/change_email",
        data={"new_email": "other@example.com"},
        headers={**cookie_header(secret), "x-csrf-token": csrf_of(page.text)},
    )
    assert refused.status_code == 403


async def test_email_change_refuses_a_bad_or_same_address(client, org, customer, sign_in):
    secret = await sign_in(customer)
    csrf = csrf_of((await client.get(f"/portal/{org.org.slug}", headers=cookie_header(secret))).text)
    headers = {**cookie_header(secret), "x-csrf-token": csrf}
    for value, message in (("nope", "valid email"), (customer.email.upper(), "already your email")):
        response = await client.post(
            "/embed/views/settings/change_email", data={"new_email": value}, headers=headers
        )
        assert response.status_code == 422
        assert message in response.text
