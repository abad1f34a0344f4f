"""Signing in to the hosted portal with a magic link, end to end through a real SMTP server."""

import asyncio
import uuid
from datetime import timedelta

import msgspec

from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import Customer, MagicLink, PortalEvent, PortalSession
from server.enums import SessionKind
from server.organizations.service import create_organization
from tests.integration.hosted.conftest import (
    cookie_header,
    csrf_of,
    emailed_token,
    open_token,
    request_link,
    session_cookie,
)
from tests.integration.mail.support import drain

THIRTY_DAYS = 30 * 24 * 3600


async def test_emailed_link_signs_in_and_lands_on_the_overview(client, org, customer, inbox, smtp_context):
    asked = await request_link(client, org, customer.email.upper())
    assert asked.status_code == 202
    assert "Check your email" in asked.text

    url, token = await emailed_token(inbox, smtp_context, customer.email)
    assert url == f"http://127.0.0.1:8000/portal/{org.org.slug}"
    [stored] = await MagicLink.select().where(MagicLink.org == org.org.id, MagicLink.email == customer.email)
    assert token not in str(stored)
    assert stored["token_hash"] != token
    assert stored["expires_at"] - stored["created_at"] == timedelta(minutes=15)

    opened = await open_token(client, org, token)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/portal/{org.org.slug}?view=overview"
    cookie = session_cookie(opened)
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert int(cookie["max-age"]) == THIRTY_DAYS

    page = await client.get(opened.headers["location"], headers=cookie_header(cookie.value))
    assert page.status_code == 200
    assert 'data-view="overview"' in page.text
    assert "data-csrf=" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert session_cookie(page).value == cookie.value  # the page renews the 30 idle days
    overview = await client.get("/embed/views/overview", headers=cookie_header(cookie.value))
    assert overview.status_code == 200
    assert "Hello Ada Lovelace!" in overview.text
    logins = await PortalEvent.select(PortalEvent.properties).where(
        PortalEvent.org == org.org.id, PortalEvent.name == "session.opened"
    )
    assert [
        msgspec.json.decode(r["properties"]) if isinstance(r["properties"], str) else r["properties"]
        for r in logins
    ] == [{"via": "magic_link"}]


async def test_the_link_works_once_then_offers_a_new_one_with_the_email_filled_in(
    client, org, customer, inbox, smtp_context
):
    await request_link(client, org, customer.email)
    _url, token = await emailed_token(inbox, smtp_context, customer.email)
    assert (await open_token(client, org, token)).status_code == 303

    again = await open_token(client, org, token)
    assert again.status_code == 410
    assert "set-cookie" not in again.headers
    assert "Send me a new link" in again.text
    assert f'value="{customer.email}"' in again.text
    assert f'action="/portal/{org.org.slug}/login"' in again.text


async def test_an_expired_link_offers_a_new_one(client, org, customer, inbox, smtp_context, frozen):
    await request_link(client, org, customer.email)
    _url, token = await emailed_token(inbox, smtp_context, customer.email)
    frozen.advance(timedelta(minutes=15, seconds=1))
    expired = await open_token(client, org, token)
    assert expired.status_code == 410
    assert f'value="{customer.email}"' in expired.text


async def test_a_made_up_link_is_refused_without_an_email(client, org):
    response = await open_token(client, org, "ml_" + uuid.uuid4().hex)
    assert response.status_code == 410
    assert 'name="email" value=""' in response.text


async def test_twenty_concurrent_uses_of_one_link_make_one_session(
    client, org, customer, inbox, smtp_context
):
    await request_link(client, org, customer.email)
    _url, token = await emailed_token(inbox, smtp_context, customer.email)
    responses = await asyncio.gather(*(open_token(client, org, token) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [303] + [410] * 19
    sessions = await PortalSession.count().where(
        PortalSession.customer == customer.id, PortalSession.kind == SessionKind.HOSTED
    )
    assert sessions == 1


async def test_every_login_makes_a_new_session_and_ends_the_one_before(client, org, customer, sign_in):
    first = await sign_in(customer)
    second = await sign_in(customer, headers=cookie_header(first))
    assert second != first
    assert (await client.get("/embed/views/overview", headers=cookie_header(first))).status_code == 401
    assert (await client.get("/embed/views/overview", headers=cookie_header(second))).status_code == 200


async def test_unknown_session_ids_are_ignored(client, org):
    page = await client.get(f"/portal/{org.org.slug}", headers=cookie_header("not-a-session"))
    assert page.status_code == 200
    assert "Sign in to" in page.text
    assert "data-csrf" not in page.text
    views = await client.get("/embed/views/overview", headers=cookie_header("not-a-session"))
    assert views.status_code == 401


async def test_a_session_of_another_merchant_shows_the_login(client, org, customer, sign_in, keyring):
    other = await create_organization(keyring, name="Other shop", origins=[])
    secret = await sign_in(customer)
    page = await client.get(f"/portal/{other.org.slug}", headers=cookie_header(secret))
    assert "data-csrf" not in page.text


async def test_logout_ends_the_session_on_the_server(client, org, customer, sign_in):
    secret = await sign_in(customer)
    page = await client.get(f"/portal/{org.org.slug}", headers=cookie_header(secret))
    logout = f"/portal/{org.org.slug}/logout"

    refused = await client.post(logout, data={}, headers=cookie_header(secret))
    assert refused.status_code == 403
    ended = await client.post(logout, data={"csrf_token": csrf_of(page.text)}, headers=cookie_header(secret))
    assert ended.status_code == 303
    cleared = session_cookie(ended)
    assert cleared.value == ""
    assert int(cleared["max-age"]) == 0
    row = await PortalSession.select().where(PortalSession.customer == customer.id).first()
    assert row["ended_at"] is not None
    assert (await client.get("/embed/views/overview", headers=cookie_header(secret))).status_code == 401


async def test_one_email_with_several_customers_chooses_after_the_link(
    client, org, customer, inbox, smtp_context
):
    twin = await create_customer(
        org.org.id, CustomerCreate(email=customer.email.upper(), name="Ada at work", company_name="Work Ltd")
    )
    await request_link(client, org, customer.email)
    _url, token = await emailed_token(inbox, smtp_context, customer.email)
    chooser = await open_token(client, org, token)
    assert chooser.status_code == 200
    assert "set-cookie" not in chooser.headers
    assert "Choose an account" in chooser.text
    assert "Work Ltd" in chooser.text
    ticket = chooser.text.split('name="ticket" value="', 1)[1].split('"', 1)[0]

    chosen = await client.post(
        f"/portal/{org.org.slug}/choose", data={"ticket": ticket, "customer": str(twin.id)}
    )
    assert chosen.status_code == 303
    views = await client.get("/embed/views/settings", headers=cookie_header(session_cookie(chosen).value))
    assert "Work Ltd" in views.text
    replayed = await client.post(
        f"/portal/{org.org.slug}/choose", data={"ticket": ticket, "customer": str(customer.id)}
    )
    assert replayed.status_code == 410
    forged = await client.post(
        f"/portal/{org.org.slug}/choose", data={"ticket": ticket + "x", "customer": str(customer.id)}
    )
    assert forged.status_code == 410


async def test_archived_customers_get_no_link(client, org, customer, inbox, smtp_context):
    await Customer.update({Customer.deleted_at: customer.created_at}).where(Customer.id == customer.id)
    assert (await request_link(client, org, customer.email)).status_code == 202
    await drain(smtp_context)
    assert inbox.received_by(customer.email) == []


async def test_a_sign_in_form_posted_by_another_site_is_refused(client, org, customer):
    response = await request_link(client, org, customer.email, headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    response = await open_token(client, org, "ml_x", headers={"sec-fetch-site": "cross-site"})
    assert response.status_code == 403


async def test_a_null_origin_passes_only_when_fetch_metadata_says_same_origin(client, org, customer):
    """``Origin: null`` is what no-referrer pages and cross-origin redirects send: alone it is refused."""
    refused = [{"origin": "null"}, {"origin": "null", "sec-fetch-site": "cross-site"}]
    for headers in refused:
        assert (await request_link(client, org, customer.email, headers=headers)).status_code == 403, headers
    same_site = {"origin": "null", "sec-fetch-site": "same-site"}
    assert (await request_link(client, org, customer.email, headers=same_site)).status_code == 403
    same_origin = {"origin": "null", "sec-fetch-site": "same-origin"}
    assert (await request_link(client, org, customer.email, headers=same_origin)).status_code == 202


async def test_a_malformed_email_is_a_friendly_422(client, org):
    response = await request_link(client, org, "not an email")
    assert response.status_code == 422
    assert "Please enter a valid email address." in response.text
