"""Usage under the customer's control, in a real Chromium on the hosted and the embedded portal: the
customer sets an alert and a spend cap in the usage view; the merchant's backend then sends usage through
the API; the person sees both reached, gets both emails, and the merchant gets verified
``usage.threshold_reached`` and ``usage.cap_reached`` webhooks and the customer listed as capped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.journey import MODES, Merchant, Portal
from tests.browser.support import emails_to, merchant_api, webhook_events


@pytest.fixture
async def merchant(stack: Any) -> AsyncIterator[Merchant]:
    """The merchant's backend, with customers allowed to set spend caps for the journey."""
    async with merchant_api(stack) as http:
        allowed = await http.patch("/v1/portal-settings", json={"features": {"spend_caps": True}})
        assert allowed.status_code == 200, allowed.text
        try:
            yield Merchant(stack, http)
        finally:
            await http.patch("/v1/portal-settings", json={"features": {"spend_caps": False}})


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def test_an_alert_and_a_spend_cap_set_in_the_usage_view_fire_after_ingestion(
    page, mode, stack, merchant
):
    customer = await merchant.customer("usage-caps", plans=("API",))
    portal = await Portal.open(page, mode, stack, customer.email, "Usage")

    requests = portal.card("API requests")
    await requests.get_by_text("Add an alert").click()
    await requests.get_by_label("Alert me").select_option(label="at a percentage of what is included")
    await requests.get_by_label("Percentage or amount").fill("50")
    await requests.get_by_role("button", name="Add alert").click()
    await portal.says("Alert set.")
    cap = portal.ui.get_by_role("region", name="Spend cap")
    await expect(cap).to_contain_text("No spend cap is set")
    await cap.get_by_label("Most the usage beyond what is included may cost per period (USD)").fill("10")
    await cap.get_by_role("button", name="Set spend cap").click()
    await portal.says("Spend cap set.")
    await expect(portal.ui.get_by_role("region", name="Spend cap")).to_contain_text(
        "$0.00 of your $10.00 cap"
    )

    # the merchant's backend reports 130,000 requests: 30,000 beyond the 100,000 included, $15.00 at $0.50
    # a thousand, past the $10.00 cap
    answer = await merchant.post(
        "/v1/events",
        {"events": [{"name": "api_requests", "customer_id": customer.id, "value": 130_000}]},
    )
    assert answer["capped_customers"] == [{"customer_id": customer.id, "external_customer_id": None}]

    await portal.go("Overview")
    await portal.go("Usage")
    cap = portal.ui.get_by_role("region", name="Spend cap")
    await expect(cap).to_contain_text("Cap reached")
    await expect(cap).to_contain_text("$15.00 of your $10.00 cap")
    await expect(cap).to_contain_text("Your spend cap is reached")
    await expect(portal.card("API requests")).to_contain_text("Reached on")

    signed_in = 1 if mode == "hosted" else 0  # the hosted portal's emailed sign-in link
    mails = await emails_to(stack, customer.email, count=signed_in + 2)  # and the alert, the cap
    subjects = sorted(str(m["Subject"]) for m in mails[signed_in:])
    assert subjects == ["Spend cap reached: API", "Usage alert: API requests"]

    def mine(data: dict[str, Any]) -> bool:
        return data["customer_id"] == customer.id

    [threshold] = await webhook_events(stack, "usage.threshold_reached", mine)
    assert (threshold["data"]["kind"], threshold["data"]["threshold"]) == ("included_percent", 50)
    [capped] = await webhook_events(stack, "usage.cap_reached", mine)
    assert (capped["data"]["amount"], capped["data"]["billed_overage_amount"], capped["data"]["capped"]) == (
        1000,
        1000,
        True,
    )
    usage = await merchant.get(f"/v1/customers/{customer.id}/usage")
    assert usage["capped"] is True
    portal.assert_clean()
