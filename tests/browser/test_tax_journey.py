"""A business customer enters their EU VAT id in the portal's billing details and from then on is reverse
charged: the next-invoice preview says so, and so do the plan change's order, its invoice PDF, the API and a
verified webhook; a partial refund's credit note is then downloaded from the orders view. Hosted and embedded,
in Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.journey import MODES, Merchant, Portal, money
from tests.browser.support import merchant_api
from tests.browser.test_journeys import _download, _only, _pdf_text

SELLER_VAT = "DE136695976"
BUYER_VAT = "FR40303265045"


@pytest.fixture(scope="session")
async def merchant(stack: Any) -> AsyncIterator[Merchant]:
    async with merchant_api(stack) as http:
        yield Merchant(stack, http)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def test_a_business_enters_its_vat_id_and_is_reverse_charged(page, mode, stack, merchant):
    if not await merchant.get("/v1/tax-registrations"):
        await merchant.post("/v1/tax-registrations", {"country": "DE", "tax_number": SELLER_VAT})
    customer = await merchant.customer(
        "vat-id", plans=("Pro",), billing_address={"city": "Paris", "country": "FR"}
    )
    portal = await Portal.open(page, mode, stack, customer.email, "Settings")
    save = portal.ui.get_by_role("button", name="Save billing information")
    form = portal.ui.locator("form").filter(has=save)
    await form.get_by_label("Company", exact=True).fill("Exemple SA")
    await form.get_by_label("Tax ID type").select_option(label="EU VAT number")
    await form.get_by_label("Tax ID", exact=True).fill("FR 4030 3265 046")  # a digit wrong
    await save.click()
    await expect(portal.ui.get_by_text("This tax ID is not valid for the type chosen")).to_be_visible()
    # the refused form keeps what was chosen and typed
    await expect(form.get_by_label("Tax ID type")).to_have_value("eu_vat")
    await expect(form.get_by_label("Tax ID", exact=True)).to_have_value("FR 4030 3265 046")
    await expect(form.get_by_label("Company", exact=True)).to_have_value("Exemple SA")
    await expect(form.get_by_label("Country")).to_have_value("FR")
    refused = [p for p in portal.watch.problems if "update_billing" in p or "status of 422" in p]
    assert len(refused) == 2, portal.watch.problems  # the refused form: its 422 and the console's note of it
    portal.watch.problems[:] = [p for p in portal.watch.problems if p not in refused]
    await form.get_by_label("Tax ID", exact=True).fill(BUYER_VAT)
    await save.click()
    await portal.says("Billing information saved.")
    await portal.go("Overview")
    await portal.go("Settings")  # what was saved, read back
    await expect(form.get_by_label("Tax ID", exact=True)).to_have_value(BUYER_VAT)
    await expect(form.get_by_label("Tax ID type")).to_have_value("eu_vat")
    saved = await merchant.get(f"/v1/customers/{customer.id}")
    assert (saved["tax_id"], saved["tax_id_type"]) == (BUYER_VAT, "eu_vat")
    assert await _only(stack, "customer.updated", customer.id, tax_id=BUYER_VAT) == saved

    await portal.go("Subscriptions")
    card = portal.card("Pro")
    await card.get_by_text("Next invoice preview").click()
    upcoming = await merchant.get(f"/v1/subscriptions/{customer.sub['id']}/upcoming-invoice")
    assert (upcoming["reverse_charge"], upcoming["tax_amount"]) == (True, 0)
    await expect(card).to_contain_text(f"Reverse charge 0% · on {money(upcoming['subtotal'])}")
    await expect(card).to_contain_text("you account for the VAT on this invoice")

    await card.get_by_role("link", name="Change plan").click()
    flow = portal.ui.get_by_role("region", name="Change plan")
    await flow.get_by_role("button", name="Switch to API").click()
    await portal.says("Your plan has changed.")
    [upgrade] = [o for o in await merchant.orders(customer) if o["billing_reason"] == "subscription_update"]
    assert (upgrade["reverse_charge"], upgrade["tax_amount"], upgrade["seller_tax_number"]) == (
        True,
        0,
        SELLER_VAT,
    )
    assert upgrade["tax_lines"] == [
        {"name": "Reverse charge", "rate": "0", "net": upgrade["subtotal"], "tax": 0}
    ]
    assert await _only(stack, "order.paid", upgrade["id"]) == upgrade

    await portal.go("Orders")
    order_card = portal.ui.get_by_role("article").filter(has_text=upgrade["invoice_number"])
    _, invoice = await _download(portal, order_card.get_by_role("link", name="Download invoice (PDF)"))
    text = _pdf_text(invoice)
    for expected in (
        f"Tax number: {SELLER_VAT}",
        f"Tax ID: {BUYER_VAT}",
        "Reverse charge 0%",  # English writes a percentage without a space
        "Article 196",
    ):
        assert expected in text, (expected, text)

    # the merchant refunds half; the customer finds the credit note beside the order and downloads it
    back = upgrade["total"] // 2
    await merchant.post(f"/v1/orders/{upgrade['id']}/refunds", {"amount": back})
    [note] = await merchant.get(f"/v1/orders/{upgrade['id']}/credit-notes")
    assert (note["invoice_number"], note["net"], note["tax_amount"], note["total"]) == (
        upgrade["invoice_number"],
        back,
        0,
        back,
    )
    await portal.go("Overview")
    await portal.go("Orders")
    order_card = portal.ui.get_by_role("article").filter(has_text=upgrade["invoice_number"])
    await expect(order_card).to_contain_text(f"Credit note {note['number']}")
    name, credit = await _download(portal, order_card.get_by_role("link", name="Download credit note (PDF)"))
    assert name == f"credit-note-{note['number']}.pdf"
    text = _pdf_text(credit)
    for expected in (
        "Credit note",
        f"Credit note number: {note['number']}",
        f"For invoice: {upgrade['invoice_number']}",
        f"Refund (net) {money(-back)}",
        f"Total credited {money(-back)}",
        "Article 196",
    ):
        assert expected in text, (expected, text)
    refunded = await _only(stack, "order.refunded", upgrade["id"])
    assert refunded["credit_notes"] == [note]
    portal.assert_clean()
