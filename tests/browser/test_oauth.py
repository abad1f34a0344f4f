"""Signing in with an OpenID Connect provider (oidc-provider-mock, a real one) and GitHub (the stand-in GitHub
itself cannot be reached from here), and connecting accounts, in Chromium as a person does it: the buttons
on the sign-in page, the provider's own authorization page, back to the portal. Nothing is injected; a
misbehaving flow (a foreign state, a replayed callback, an altered nonce) is made the way an attacker would
make it: by sending the browser to a URL. Each journey checks what the person sees, then what the API and a
verified webhook say.

Customers changed here: Lucas Oliveira (signs in), Priya Raman (refused flows), Mia Schneider (unverified
email), Yuki Tanaka (connects and disconnects), Noah Williams (GitHub)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.browser.support import emails_to, merchant_api, open_portal, said_to, webhook_events

LUCAS = "lucas@ipe-digital.example"
PRIYA = "priya@monsoon-data.example"
MIA = "mia@schneider-design.example"
YUKI = "yuki@kumo-games.example"
NOAH = "noah@williams-woodworks.example"
SSO = "Acme SSO"
FAILED = "Signing in that way did not work"


@pytest.fixture(scope="module")
async def providers(stack: Any, openid_provider: Any) -> AsyncIterator[Any]:
    """The merchant offers its OpenID Connect provider and GitHub while these tests run. The provider is
    named by ``localhost``, another site than the portal's 127.0.0.1, so coming back from it is a cross-site
    navigation, as from a real provider (the flow's cookie must survive it)."""
    assert stack.github is not None
    client_id, secret = stack.github.register_app()
    issuer = openid_provider.url.replace("127.0.0.1", "localhost")
    async with merchant_api(stack) as api:
        oidc = {"client_id": "acme-portal", "client_secret": "s3cret", "issuer": issuer, "name": SSO}
        assert (await api.put("/v1/oauth-providers/oidc", json=oidc)).status_code == 200
        github = {"client_id": client_id, "client_secret": secret}
        assert (await api.put("/v1/oauth-providers/github", json=github)).status_code == 200
        yield openid_provider
        for provider in ("oidc", "github"):
            assert (await api.delete(f"/v1/oauth-providers/{provider}")).status_code == 204


async def _logins(stack: Any, method: str) -> int:
    async with merchant_api(stack) as api:
        response = await api.get("/v1/analytics/portal")
    assert response.status_code == 200, response.text
    return sum(day["by_method"].get(method, 0) for day in response.json()["logins_per_day"])


async def _to_provider(
    page: Any, stack: Any, button: str = f"Continue with {SSO}", heading: str = "Authorize Client"
) -> None:
    """From the portal's sign-in page to the provider's authorization page."""
    await page.goto(f"{stack.portal_url}/portal/{stack.slug}")
    await page.get_by_role("link", name=button).click()
    await page.get_by_role("heading", name=heading).wait_for()


async def _authorize(page: Any, sub: str) -> None:
    await page.get_by_placeholder("sub").fill(sub)
    await page.get_by_role("button", name="Authorize").click()


def _person(provider: Any, email: str, *, verified: bool = True) -> str:
    """A person at the provider with ``email``; returns the ``sub`` they sign in as."""
    sub = "user-" + uuid.uuid4().hex[:8]
    provider.set_user(sub, email=email, email_verified=verified)
    return sub


async def test_continue_with_the_openid_provider_signs_in(page, stack, providers):
    before = await _logins(stack, "oauth:oidc")
    await _to_provider(page, stack)
    assert page.url.startswith("http://localhost:")  # the provider's own site
    await _authorize(page, _person(providers, LUCAS))

    said = said_to(LUCAS)  # in Portuguese: the language Lucas chose
    await page.get_by_role("button", name=said("Sign out")).wait_for()
    await page.get_by_text(said("Hello %(name)s!", name="Lucas Oliveira")).wait_for()
    assert page.url == f"{stack.portal_url}/portal/{stack.slug}?view=overview"
    assert await _logins(stack, "oauth:oidc") == before + 1


async def test_github_signs_in_with_the_primary_verified_email(page, stack, providers):
    login = "noah-" + uuid.uuid4().hex[:6]
    stack.github.add_user(login, NOAH)
    before = await _logins(stack, "oauth:github")
    await _to_provider(page, stack, "Continue with GitHub", "Authorize application")
    await page.get_by_label("GitHub login").fill(login)
    await page.get_by_role("button", name="Authorize").click()

    await page.get_by_text("Hello Noah Williams!").wait_for()
    assert await _logins(stack, "oauth:github") == before + 1


async def test_an_unverified_email_gets_the_answer_the_email_form_gives(page, stack, providers):
    assert stack.mail is not None
    before = len(stack.mail.received_by(MIA))
    await _to_provider(page, stack)
    await _authorize(page, _person(providers, MIA, verified=False))

    await page.get_by_role("heading", name="Check your email").wait_for()
    shown = await page.locator("main").inner_text()
    assert "Sign out" not in shown
    # word for word what typing the address into the form says, and the link goes to that inbox only
    await page.goto(f"{stack.portal_url}/portal/{stack.slug}")
    await page.get_by_label("Email address").fill(MIA)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    assert await page.locator("main").inner_text() == shown
    await emails_to(stack, MIA, before + 2)


async def test_a_foreign_state_a_replayed_callback_and_an_altered_nonce_sign_nobody_in(
    page, stack, providers
):
    sub = _person(providers, PRIYA)

    # someone else's callback (their state, their code: an attacker's tooling made it), opened in this
    # browser during its own sign-in
    async with httpx.AsyncClient(timeout=10) as attacker:
        start = await attacker.get(f"{stack.portal_url}/portal/{stack.slug}/oauth/oidc/start")
        authorized = await attacker.post(start.headers["location"], data={"sub": sub})
    await _to_provider(page, stack)
    await page.goto(authorized.headers["location"])
    await page.get_by_text(FAILED).wait_for()
    assert await page.get_by_role("button", name="Sign out").count() == 0

    # this browser's own sign-in, then its callback opened again: the code is not used twice
    await _to_provider(page, stack)
    mine: list[str] = []
    page.on(
        "request", lambda request: mine.append(request.url) if "/oauth/oidc/callback" in request.url else None
    )
    await _authorize(page, sub)
    await page.get_by_text("Hello Priya Raman!").wait_for()
    await page.goto(mine[0])
    await page.get_by_text(FAILED).wait_for()

    # the authorization request with another nonce than the portal sent: its ID token is refused
    await page.context.clear_cookies()  # a browser that is not signed in
    await _to_provider(page, stack)
    await page.goto(re.sub(r"nonce=[^&]+", "nonce=chosen-by-someone-else", page.url))
    await _authorize(page, sub)
    await page.get_by_text(FAILED).wait_for()
    assert await page.get_by_role("button", name="Sign out").count() == 0


async def test_connect_sign_in_with_it_then_disconnect(page, stack, providers):
    customer_id = stack.customers[YUKI]
    work_email = f"yuki.{uuid.uuid4().hex[:6]}@kumo-studio.example"
    work = _person(providers, work_email)
    said = said_to(YUKI)  # in Japanese: the language Yuki chose
    await _to_provider(page, stack)
    await _authorize(page, _person(providers, YUKI))  # the provider vouches for Yuki's own address
    await page.get_by_text(said("Hello %(name)s!", name="Yuki Tanaka")).wait_for()
    await page.get_by_role("link", name=said("Settings")).click()
    await page.get_by_role("heading", name=said("Connected accounts")).wait_for()
    await page.get_by_role("link", name=said("Connect %(provider)s", provider=SSO)).click()
    await _authorize(page, work)

    await page.get_by_text(
        said("Your %(provider)s account is connected. You can now sign in with it.", provider=SSO)
    ).wait_for()
    await page.get_by_text(work_email).wait_for()
    await page.get_by_text(said("Sign-in account connected")).wait_for()  # the activity log
    async with merchant_api(stack) as api:
        listed = (await api.get(f"/v1/customers/{customer_id}/connected-accounts")).json()["items"]
    assert [(a["provider"], a["subject"], a["email"]) for a in listed] == [("oidc", work, work_email)]
    await webhook_events(stack, "customer.updated", lambda data: data["id"] == customer_id)

    # signed out, the connected account signs Yuki in although its email is another one
    await page.get_by_role("button", name=said("Sign out")).click()
    await _to_provider(page, stack)
    await _authorize(page, work)
    await page.get_by_text(said("Hello %(name)s!", name="Yuki Tanaka")).wait_for()

    await page.get_by_role("link", name=said("Settings")).click()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name=said("Disconnect %(provider)s", provider=SSO)).click()
    await page.get_by_text(
        said(
            "Your %(provider)s account is disconnected. You can still sign in with an email link.",
            provider=SSO,
        )
    ).wait_for()
    await page.get_by_text(said("Sign-in account disconnected")).wait_for()
    async with merchant_api(stack) as api:
        assert (await api.get(f"/v1/customers/{customer_id}/connected-accounts")).json()["items"] == []
    await webhook_events(stack, "customer.updated", lambda data: data["id"] == customer_id, count=2)

    # and that account no longer signs anyone in: the neutral answer for its address
    await page.get_by_role("button", name=said("Sign out")).click()
    await _to_provider(page, stack)
    await _authorize(page, work)
    await page.get_by_role("heading", name="Check your email").wait_for()


async def test_the_embedded_settings_say_where_to_manage_connected_accounts(page, host, stack, providers):
    said = said_to(YUKI)
    frame = await open_portal(page, host, YUKI, view="settings")
    await frame.get_by_role("heading", name=said("Connected accounts")).wait_for()
    link = frame.get_by_role("link", name=said("Open the billing portal"))
    assert await link.get_attribute("href") == f"{stack.portal_url}/portal/{stack.slug}?view=settings"
    assert await link.get_attribute("target") == "_blank"
    assert await frame.get_by_role("link", name=said("Connect %(provider)s", provider=SSO)).count() == 0
