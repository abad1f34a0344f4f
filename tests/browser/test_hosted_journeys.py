"""Journeys of the hosted portal in a real Chromium, as a person makes them: signing in by the emailed link,
opening a ``customer_portal_url``, the demo merchant's "Manage subscription" and back (seed 004), changing
the email address, and what a used or expired link leads to. No header is set by hand and no session is
injected; each journey checks what the person sees, then what the API and a verified webhook say.

Customers changed here (no other test should count on their state): Oliver Smith (signs in by used links),
Grace Kim (cancels from the merchant app), Ethan Brown (changes his email address)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from server import clock
from server.clock import FrozenClock, use_clock
from tests.browser.support import (
    ADA,
    emails_to,
    link_in,
    merchant_api,
    sign_in_hosted,
    webhook_events,
)

OLIVER = "oliver@smith-and-sons.example"
GRACE = "grace@harbor-analytics.example"
ETHAN = "ethan@brownfield.example"


async def _logins(stack: Any, method: str) -> int:
    """Portal sessions opened so far by ``method``, as the merchant's analytics API counts them."""
    async with merchant_api(stack) as api:
        response = await api.get("/v1/analytics/portal")
    assert response.status_code == 200, response.text
    return sum(day["by_method"].get(method, 0) for day in response.json()["logins_per_day"])


async def _portal_url(stack: Any, email: str, **body: Any) -> str:
    """What the merchant's backend gets from ``POST /v1/customer-sessions``."""
    async with merchant_api(stack) as api:
        response = await api.post(
            "/v1/customer-sessions", json={"customer_id": stack.customers[email], **body}
        )
    assert response.status_code == 201, response.text
    url: str = response.json()["customer_portal_url"]
    return url


async def _see_signed_in(page: Any, name: str, view: str = "Overview") -> None:
    await page.get_by_role("button", name="Sign out").wait_for()
    await page.get_by_role("heading", level=1, name=view).wait_for()
    if view == "Overview":
        await page.get_by_text(f"Hello {name}!").wait_for()


async def test_signing_in_by_the_emailed_link_opens_the_hosted_portal(page, stack):
    before = await _logins(stack, "magic_link")
    await sign_in_hosted(page, stack, ADA)
    await page.get_by_text("Hello Ada Lovelace!").wait_for()
    assert page.url == f"{stack.portal_url}/portal/{stack.slug}?view=overview"
    assert await _logins(stack, "magic_link") == before + 1


async def test_a_customer_portal_url_opens_the_portal_once(browser, page, stack):
    url = await _portal_url(stack, OLIVER)
    before = await _logins(stack, "link")
    await page.goto(url)
    await _see_signed_in(page, "Oliver Smith")
    assert page.url == f"{stack.portal_url}/portal/{stack.slug}?view=overview"  # no token in the address
    assert await _logins(stack, "link") == before + 1

    # the same link again, say from another browser: used up, so it offers a new sign-in link instead
    async with _another_browser(browser) as again:
        await _refused_then_a_new_link(again, stack, url)
    assert await _logins(stack, "link") == before + 1


@contextlib.asynccontextmanager
async def _another_browser(browser: Any) -> AsyncIterator[Any]:
    """A page with no cookies of its own, as on another device."""
    context = await browser.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def _refused_then_a_new_link(page: Any, stack: Any, url: str) -> None:
    """Oliver opens a link that cannot sign him in: he is offered a new sign-in link for his address, asks
    for it and opens it from the email."""
    await page.goto(url)
    await page.get_by_role("heading", name="This link has expired").wait_for()
    assert await page.get_by_label("Email address").input_value() == OLIVER
    sent = len(stack.mail.received_by(OLIVER))
    await page.get_by_role("button", name="Send me a new link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    received = await emails_to(stack, OLIVER, sent + 1)
    await page.goto(link_in(received[-1]))
    await _see_signed_in(page, "Oliver Smith")


async def test_an_expired_portal_link_offers_a_new_sign_in_link_for_its_customer(page, stack):
    with use_clock(FrozenClock(clock.now() - timedelta(hours=2))):  # minted two hours ago, for one
        expired = stack.token(OLIVER, ttl=3600)
    await _refused_then_a_new_link(page, stack, f"{stack.portal_url}/portal/{stack.slug}#token={expired}")


async def test_a_used_sign_in_link_offers_a_new_one_with_the_email_filled_in(browser, page, stack):
    await sign_in_hosted(page, stack, OLIVER)
    async with _another_browser(browser) as again:
        await _refused_then_a_new_link(again, stack, link_in(stack.mail.received_by(OLIVER)[-1]))


async def test_manage_subscription_in_the_merchant_app_cancels_in_the_portal_and_comes_back(page, stack):
    """Seed 004: the button, the merchant's backend gets the URL, the portal, a change, back to the app."""
    customer = stack.customers[GRACE]
    await page.goto(f"{stack.merchant_url}/?customer={customer}")
    await page.get_by_role("button", name="Manage subscription").click()
    await _see_signed_in(page, "Grace Kim")
    await page.get_by_role("link", name="Subscriptions").first.click()
    await page.get_by_role("heading", level=1, name="Subscriptions").wait_for()
    await page.get_by_role("link", name="Cancel subscription").first.click()
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("button", name="Confirm cancellation").click()
    await page.get_by_role("button", name="Keep my subscription").wait_for()

    await page.get_by_role("link", name="Back to Acme").click()
    await page.wait_for_url(f"{stack.merchant_url}/?customer={customer}")
    await page.get_by_role("heading", name="Subscription").wait_for()
    assert "Ends on" in await page.locator("section[aria-labelledby=subscription]").inner_text()

    async with merchant_api(stack) as api:
        listed = await api.get("/v1/subscriptions", params={"customer_id": customer})
    assert listed.status_code == 200, listed.text
    [canceled] = [s for s in listed.json()["items"] if s["cancel_at_period_end"]]
    [event] = await webhook_events(stack, "subscription.canceled", lambda data: data["id"] == canceled["id"])
    assert event["data"]["customer_id"] == customer


async def test_changing_the_email_address_takes_effect_when_the_emailed_link_is_opened(page, stack):
    new_address = "ethan.brown@brownfield.example"
    await sign_in_hosted(page, stack, ETHAN)
    await page.get_by_role("link", name="Settings").first.click()
    await page.get_by_role("heading", level=1, name="Settings").wait_for()
    await page.get_by_text("Change email address").click()
    await page.get_by_label("New email address").fill(new_address)
    await page.get_by_role("button", name="Send confirmation link").click()
    [confirmation] = await emails_to(stack, new_address)
    assert stack.mail.received_by(new_address)[0]["Subject"].startswith("Confirm your new email address")

    await page.goto(link_in(confirmation))
    await _see_signed_in(page, "Ethan Brown", view="Settings")
    await page.get_by_text(new_address).first.wait_for()

    customer = stack.customers[ETHAN]
    async with merchant_api(stack) as api:
        fetched = await api.get(f"/v1/customers/{customer}")
    assert fetched.json()["email"] == new_address
    updated = await webhook_events(
        stack, "customer.updated", lambda data: data["id"] == customer and data["email"] == new_address
    )
    assert updated[0]["data"]["email"] == new_address
