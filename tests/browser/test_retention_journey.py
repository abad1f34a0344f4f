"""Retention offers in the cancel flow, in a real Chromium on the hosted and the embedded portal: a customer
who gives a reason the merchant answers sees the offer with what it changes, accepts it (the pause, the
cheaper plan or the coupon is applied at once) or declines it and goes on to cancel; declined once, the offer
is not shown again within the window. Then the merchant API, the verified webhooks and, embedded, the
loader's events say the same."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.journey import MODES, Merchant, Portal, day, money
from tests.browser.support import merchant_api, wait_event, webhook_events

REASONS = {
    "pause": ("unused", "I don't use it enough", "Pro"),
    "plan": ("switched_service", "I'm switching to another service", "API"),
    "coupon": ("missing_features", "Some features are missing", "Pro"),
}
"""Offer kind → the reason it answers, how the portal words that reason, the plan the customer is on."""


@pytest.fixture(scope="session")
async def merchant(stack: Any) -> AsyncIterator[Merchant]:
    async with merchant_api(stack) as http:
        yield Merchant(stack, http)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
async def offers(merchant: Merchant) -> AsyncIterator[dict[str, Any]]:
    """An offer for each kind, set through the merchant API; the merchant's own settings come back after."""
    before = await merchant.get("/v1/retention-settings")
    label = secrets.token_hex(3)
    coupon = await merchant.post(
        "/v1/coupons",
        {"name": f"Stay {label}", "percent_off": 50, "duration": "repeating", "duration_periods": 2},
    )
    pro = await merchant.price("Pro")
    settings = {
        "window_months": 12,
        "offers": {
            "unused": {"kind": "pause", "pause_periods": 2, "message": "Take a break instead."},
            "switched_service": {"kind": "plan", "price_id": pro["id"], "message": "Pro costs less."},
            "missing_features": {"kind": "coupon", "coupon_id": coupon["id"], "message": "Half price."},
        },
    }
    response = await merchant.http.put("/v1/retention-settings", json=settings)
    assert response.status_code == 200, response.text
    yield {"coupon": coupon, "pro": pro}
    kept = {"window_months": before["window_months"], "offers": before["offers"]}
    assert (await merchant.http.put("/v1/retention-settings", json=kept)).status_code == 200


async def _to_the_offer(portal: Portal, plan: str, reason: str) -> Locator:
    await portal.card(plan).get_by_role("link", name="Cancel subscription").click()
    flow = portal.ui.get_by_role("region", name=f"Cancel {plan}")
    await flow.get_by_label("Why are you leaving?").select_option(label=reason)
    await flow.get_by_role("button", name="Continue").click()
    return portal.ui.get_by_role("region", name="An offer before you go")


async def _answered(page: Page, mode: str, stack: Any, outcome: str, sub_id: str) -> dict[str, Any]:
    """The one verified webhook of the answer, and (embedded) the loader's event of the same meaning."""
    found = await webhook_events(
        stack, f"subscription.retention_offer_{outcome}", lambda data: data["subscription_id"] == sub_id
    )
    assert len(found) == 1, found
    data: dict[str, Any] = found[0]["data"]
    if mode == "embedded":
        [event] = await wait_event(page, f"subscription.retention_offer_{outcome}")
        assert event["detail"] == {"id": data["id"], "subscription_id": sub_id, "status": outcome}
    return data


@pytest.mark.parametrize("kind", list(REASONS))
async def test_an_accepted_offer_is_applied_at_once(page, mode, stack, merchant, offers, kind):
    reason, reason_label, plan = REASONS[kind]
    customer = await merchant.customer(f"stay-{kind}", plans=(plan,))
    sub_id, renewal = customer.sub["id"], day(customer.sub["current_period_end"])
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    offer = await _to_the_offer(portal, plan, reason_label)
    if kind == "pause":
        await expect(offer).to_contain_text("Take a break instead.")
        await expect(offer).to_contain_text(f"2 renewals are skipped: {money(3800)} you are not charged.")
        shown = await offer.inner_text()
    elif kind == "plan":
        await expect(offer).to_contain_text("Pro costs less.")
        await expect(offer).to_contain_text(
            f"Switch to Pro: {money(1900)} instead of {money(2900)} per month."
        )
        await expect(offer).to_contain_text(f"The switch happens on {renewal}; you keep your current plan")
    else:
        await expect(offer).to_contain_text("Half price.")
        await expect(offer).to_contain_text(
            f"Stay {offers['coupon']['name'][5:]}: 50% off your next 2 invoices."
        )
        await expect(offer).to_contain_text(
            f"Your next invoice on {renewal}: {money(950)} instead of {money(1900)}."
        )
    await offer.get_by_role("button", name="Accept the offer").click()
    coupon_terms = f"{offers['coupon']['name']}: 50% off your next 2 invoices."
    done = {
        "pause": "Your subscription is paused until",
        "plan": "Your plan will change on",
        "coupon": f"Your discount is applied. {coupon_terms}",
    }
    await portal.says(done[kind])

    after = await merchant.subscription(sub_id)
    if kind == "pause":
        resumes = day(after["resumes_at"])
        assert f"benefits stop until {resumes}." in shown
        await portal.says(f"Your subscription is paused until {resumes}.")
        assert after["status"] == "paused"
    elif kind == "plan":
        await portal.says(f"Your plan will change on {renewal}.")
        assert after["pending_price_id"] == offers["pro"]["id"]
    else:
        assert (after["discount"]["coupon_id"], after["discount"]["periods_left"]) == (
            offers["coupon"]["id"],
            2,
        )
    await expect(portal.ui.get_by_role("region", name="An offer before you go")).to_have_count(0)
    assert after["cancel_at_period_end"] is False
    data = await _answered(page, mode, stack, "accepted", sub_id)
    assert (data["reason"], data["kind"], data["outcome"]) == (reason, kind, "accepted")
    assert data["subscription"] == after
    assert data["monthly_revenue_kept"] == {"pause": 1900, "plan": 1900, "coupon": 950}[kind]
    portal.assert_clean()


@pytest.mark.parametrize("kind", list(REASONS))
async def test_a_declined_offer_leads_to_the_cancellation_and_is_not_offered_again(
    page, mode, stack, merchant, offers, kind
):
    reason, reason_label, plan = REASONS[kind]
    customer = await merchant.customer(f"leave-{kind}", plans=(plan,))
    sub_id, ends = customer.sub["id"], day(customer.sub["current_period_end"])
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    offer = await _to_the_offer(portal, plan, reason_label)
    await offer.get_by_role("button", name="No thanks, continue cancelling").click()
    await portal.says("You declined the offer.")
    review = portal.ui.get_by_role("region", name="What will happen")
    await expect(review).to_contain_text(f"You keep {plan} until {ends}.")
    await review.get_by_role("button", name="Confirm cancellation").click()
    await portal.says(f"Your subscription will end on {ends}. You can undo this until then.")
    canceled = await merchant.subscription(sub_id)
    assert (canceled["cancel_at_period_end"], canceled["cancellation_reason"]) == (True, reason)
    data = await _answered(page, mode, stack, "declined", sub_id)
    assert (data["reason"], data["kind"], data["monthly_revenue_kept"]) == (reason, kind, 0)

    # Changed their mind, then changed it back: within the window the offer is not shown twice.
    await portal.card(plan).get_by_role("button", name="Keep my subscription").click()
    await portal.says("Your subscription will continue.")
    await portal.card(plan).get_by_role("link", name="Cancel subscription").click()
    flow = portal.ui.get_by_role("region", name=f"Cancel {plan}")
    await flow.get_by_label("Why are you leaving?").select_option(label=reason_label)
    await flow.get_by_role("button", name="Continue").click()
    await expect(portal.ui.get_by_role("region", name="What will happen")).to_be_visible()
    await expect(portal.ui.get_by_role("region", name="An offer before you go")).to_have_count(0)
    portal.assert_clean()
