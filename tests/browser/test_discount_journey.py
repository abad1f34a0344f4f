"""A promotion code in the change-plan flow, in a real Chromium on the hosted and the embedded portal: the
customer types a wrong code and reads why, types the right one in lower case, sees each plan's discounted
preview, confirms, and finds the discount as its own line on the order; then the merchant API and the
``standardwebhooks``-verified webhooks say the same."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.journey import MODES, Merchant, Portal, cents, day, money
from tests.browser.support import merchant_api, webhook_events


@pytest.fixture(scope="session")
async def merchant(stack: Any) -> AsyncIterator[Merchant]:
    async with merchant_api(stack) as http:
        yield Merchant(stack, http)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def _one(stack: Any, type_: str, match: Any) -> dict[str, Any]:
    found = await webhook_events(stack, type_, match)
    assert len(found) == 1, found
    data: dict[str, Any] = found[0]["data"]
    return data


async def test_a_promotion_code_discounts_the_plan_change(page, mode, stack, merchant):
    label = secrets.token_hex(3)
    coupon = await merchant.post(
        "/v1/coupons",
        {"name": f"Spring {label}", "percent_off": 25, "duration": "repeating", "duration_periods": 3},
    )
    code = f"SPRING-{label}".upper()
    await merchant.post(f"/v1/coupons/{coupon['id']}/promotion-codes", {"code": code})
    customer = await merchant.customer("promo", plans=("Pro",))
    sub_id = customer.sub["id"]
    api_price = await merchant.price("API")

    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    await portal.card("Pro").get_by_role("link", name="Change plan").click()
    flow = portal.ui.get_by_role("region", name="Change plan")
    await flow.get_by_label("Promotion code").fill("WINTER-0000")
    await flow.get_by_role("button", name="Apply code").click()
    await expect(flow.get_by_role("alert")).to_have_text(
        "We do not know this code. Please check it and try again."
    )

    await flow.get_by_label("Promotion code").fill(code.lower())
    await flow.get_by_role("button", name="Apply code").click()
    option = flow.get_by_role("listitem").filter(has=portal.ui.get_by_role("button", name="Switch to API"))
    await expect(option).to_contain_text(f"Spring {label}: 25% off your next 3 invoices.")
    await expect(option).to_contain_text("Discount today: -$")
    text = await option.inner_text()
    promised = cents(text.split("you pay", 1)[1])
    discount = cents(text.split("Discount today:", 1)[1])
    await option.get_by_role("button", name="Switch to API").click()
    await portal.says(f"Your plan has changed. {money(promised)} was charged to your card.")
    await expect(portal.card("API")).to_be_visible()

    changed = await merchant.subscription(sub_id)
    assert changed["price_id"] == api_price["id"]
    assert (changed["discount"]["promotion_code"], changed["discount"]["periods_left"]) == (code, 3)
    [order] = [o for o in await merchant.orders(customer) if o["billing_reason"] == "subscription_update"]
    assert [(line["kind"], line["amount"]) for line in order["lines"]][1:] == [("discount", -discount)]
    assert order["lines"][1]["description"] == f"Spring {label}"
    assert (order["total"], order["status"]) == (promised, "paid")
    assert order["subtotal"] == order["lines"][0]["amount"] - discount

    await portal.go("Orders")
    card = portal.card(f"{order['invoice_number']} · {day(order['created_at'])}")
    await card.get_by_text("Details").click()
    row = card.get_by_role("row").filter(has_text=f"Spring {label}")
    await expect(row).to_contain_text(money(-discount))

    def discounted(data: dict[str, Any]) -> bool:
        return data["id"] == sub_id and bool(data.get("discount")) and data["price_id"] == api_price["id"]

    assert await _one(stack, "subscription.updated", discounted) == changed
    assert await _one(stack, "order.paid", lambda data: data["id"] == order["id"]) == order
    assert (await merchant.get(f"/v1/coupons/{coupon['id']}"))["times_redeemed"] == 1
    portal.assert_clean()
