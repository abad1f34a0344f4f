"""Customer journeys in a real Chromium, each made twice: on the hosted portal (signed in by the emailed
link) and embedded in the merchant's page (loader.js). A person clicks, types and reads; nothing sets a
header, injects a session or calls the API in the middle of a journey. After each step the journey checks
what the person sees, then what the merchant API says and what a ``standardwebhooks``-verified webhook says.

Every journey starts from customers of its own, made through the API the way a merchant backend makes them,
so journeys depend neither on each other nor on their order, and hosted and embedded runs never meet."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import expect
from pypdf import PdfReader

from tests.browser.journey import (
    FAILING_CARD,
    MODES,
    Merchant,
    Portal,
    cents,
    day,
    money,
)
from tests.browser.support import emails_to, merchant_api, webhook_events


@pytest.fixture(scope="session")
async def merchant(stack: Any) -> AsyncIterator[Merchant]:
    async with merchant_api(stack) as http:
        yield Merchant(stack, http)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def _only(stack: Any, type_: str, resource_id: str, **expected: Any) -> dict[str, Any]:
    """The one verified ``type_`` webhook about ``resource_id`` whose data has ``expected`` values."""

    def wanted(data: dict[str, Any]) -> bool:
        return data.get("id") == resource_id and all(data.get(k) == v for k, v in expected.items())

    found = await webhook_events(stack, type_, wanted)
    assert len(found) == 1, found
    data: dict[str, Any] = found[0]["data"]
    return data


# -- subscriptions -------------------------------------------------------------------------------------------


async def test_cancel_at_the_end_of_the_period_then_keep_the_subscription(page, mode, stack, merchant):
    customer = await merchant.customer("cancel-later", plans=("Pro",))
    sub_id, ends = customer.sub["id"], day(customer.sub["current_period_end"])
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    await portal.ui.get_by_role("link", name="Cancel subscription").click()
    flow = portal.ui.get_by_role("region", name="Cancel Pro")
    await flow.get_by_label(f"At the end of the period, on {ends}").check()
    await flow.get_by_label("Why are you leaving?").select_option(label="It is too expensive")
    await flow.get_by_label("Anything else you want to tell us?").fill("Back when the budget allows.")
    await flow.get_by_role("button", name="Continue").click()
    review = portal.ui.get_by_role("region", name="What will happen")
    await expect(review).to_contain_text(f"You keep Pro until {ends}.")
    await expect(review).to_contain_text("You will not be charged again.")
    await review.get_by_role("button", name="Confirm cancellation").click()
    await portal.says(f"Your subscription will end on {ends}. You can undo this until then.")
    await expect(portal.card("Pro")).to_contain_text(f"ends {ends}")

    canceled = await merchant.subscription(sub_id)
    assert (canceled["status"], canceled["cancel_at_period_end"]) == ("active", True)
    assert canceled["cancellation_reason"] == "too_expensive"
    assert canceled["cancellation_comment"] == "Back when the budget allows."
    assert canceled["canceled_at"] is not None
    assert await _only(stack, "subscription.canceled", sub_id) == canceled

    await portal.card("Pro").get_by_role("button", name="Keep my subscription").click()
    await portal.says("Your subscription will continue.")
    await expect(portal.card("Pro")).not_to_contain_text(f"ends {ends}")
    kept = await merchant.subscription(sub_id)
    assert (kept["status"], kept["cancel_at_period_end"], kept["canceled_at"]) == ("active", False, None)
    assert await _only(stack, "subscription.uncanceled", sub_id) == kept
    portal.assert_clean()


async def test_cancel_right_away_refunds_the_unused_time_it_promised(page, mode, stack, merchant):
    customer = await merchant.customer("cancel-now", plans=("Pro",))
    sub_id = customer.sub["id"]
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    await portal.ui.get_by_role("link", name="Cancel subscription").click()
    flow = portal.ui.get_by_role("region", name="Cancel Pro")
    await flow.get_by_label("Right away").check()
    await flow.get_by_role("button", name="Continue").click()
    review = portal.ui.get_by_role("region", name="What will happen")
    await expect(review).to_contain_text("Pro ends now and its benefits stop.")
    promise = review.get_by_role("listitem").filter(has_text="goes back to your card")
    promised = cents(await promise.inner_text())
    assert 0 < promised <= 1900
    await review.get_by_role("button", name="Confirm cancellation").click()
    await portal.says("Your subscription has ended.")
    await expect(portal.card("Pro")).to_contain_text("Ended")
    await expect(portal.card("Pro").get_by_role("button", name="Keep my subscription")).to_have_count(0)

    ended = await merchant.subscription(sub_id)
    assert ended["status"] == "canceled"
    assert ended["ended_at"] is not None
    [order] = await merchant.orders(customer)
    assert [(r["amount"], r["destination"]) for r in order["refunds"]] == [(promised, "payment_method")]
    assert order["refunded_amount"] == promised
    assert await _only(stack, "subscription.canceled", sub_id) == ended
    assert await _only(stack, "order.refunded", order["id"]) == order

    await portal.go("Orders")
    await expect(portal.card(f"{order['invoice_number']} · {day(order['created_at'])}")).to_contain_text(
        f"Refunded {money(promised)} to your card"
    )
    portal.assert_clean()


async def test_change_plan_charges_the_previewed_proration_and_a_downgrade_waits(page, mode, stack, merchant):
    customer = await merchant.customer("change-plan", plans=("Pro",))
    sub_id, ends = customer.sub["id"], day(customer.sub["current_period_end"])
    api_price, pro_price = await merchant.price("API"), await merchant.price("Pro")
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    await portal.card("Pro").get_by_role("link", name="Change plan").click()
    flow = portal.ui.get_by_role("region", name="Change plan")
    option = flow.get_by_role("listitem").filter(has=portal.ui.get_by_role("button", name="Switch to API"))
    await expect(option).to_contain_text(f"{money(api_price['amount'])} per month")
    await expect(option).to_contain_text("Starts now; you pay")
    promised = cents((await option.inner_text()).split("you pay", 1)[1])
    await option.get_by_role("button", name="Switch to API").click()
    await portal.says(f"Your plan has changed. {money(promised)} was charged to your card.")
    await expect(portal.card("API")).to_be_visible()

    upgraded = await merchant.subscription(sub_id)
    assert upgraded["price_id"] == api_price["id"]
    proration = [o for o in await merchant.orders(customer) if o["billing_reason"] == "subscription_update"]
    assert [(o["total"], o["status"]) for o in proration] == [(promised, "paid")]
    assert await _only(stack, "subscription.updated", sub_id, price_id=api_price["id"]) == upgraded
    assert await _only(stack, "order.paid", proration[0]["id"]) == proration[0]

    await portal.card("API").get_by_role("link", name="Change plan").click()
    option = flow.get_by_role("listitem").filter(has=portal.ui.get_by_role("button", name="Switch to Pro"))
    await expect(option).to_contain_text(f"Starts on {ends}, at your next renewal")
    await option.get_by_role("button", name="Switch to Pro").click()
    await portal.says("Your plan will change at the end of this period.")
    await expect(portal.card("API")).to_contain_text(f"Scheduled for {ends}: switch to Pro")
    scheduled = await merchant.subscription(sub_id)
    assert (scheduled["price_id"], scheduled["pending_price_id"]) == (api_price["id"], pro_price["id"])
    assert await _only(stack, "subscription.updated", sub_id, pending_price_id=pro_price["id"]) == scheduled

    await portal.card("API").get_by_role("button", name="Keep my current plan").click()
    await portal.says("The scheduled change was cancelled.")
    await expect(portal.card("API")).not_to_contain_text("Scheduled for")
    kept = await merchant.subscription(sub_id)
    assert (kept["price_id"], kept["pending_price_id"]) == (api_price["id"], None)
    assert len(await merchant.orders(customer)) == 2  # the first order and the upgrade, nothing else
    portal.assert_clean()


async def test_adding_seats_charges_the_previewed_proration(page, mode, stack, merchant):
    customer = await merchant.customer("more-seats", plans=("Team",), seats=2)
    sub_id = customer.sub["id"]
    team = await merchant.price("Team")
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    await portal.card("Team").get_by_role("link", name="Change seats").click()
    flow = portal.ui.get_by_role("region", name="Change seats")
    await flow.get_by_label("Number of seats").fill("5")
    await flow.get_by_role("button", name="Preview").click()
    await expect(flow).to_contain_text(f"New price: {money(team['seat_amount'] * 5)} per month.")
    preview = flow.get_by_text("You pay")
    promised = cents((await preview.inner_text()).split("You pay", 1)[1])
    await flow.get_by_role("button", name="Confirm 5 seats").click()
    await portal.says(f"You now have 5 seats. {money(promised)} was charged to your card.")
    await expect(portal.card("Team")).to_contain_text(money(team["seat_amount"] * 5))

    grown = await merchant.subscription(sub_id)
    assert (grown["seats"], grown["status"]) == (5, "active")
    proration = [o for o in await merchant.orders(customer) if o["billing_reason"] == "subscription_update"]
    assert [(o["total"], o["status"]) for o in proration] == [(promised, "paid")]
    assert await _only(stack, "subscription.updated", sub_id, seats=5) == grown
    assert await _only(stack, "order.paid", proration[0]["id"]) == proration[0]

    await portal.go("Orders")
    order = proration[0]
    await expect(portal.card(f"{order['invoice_number']} · {day(order['created_at'])}")).to_contain_text(
        "Paid"
    )
    portal.assert_clean()


async def test_pause_then_resume(page, mode, stack, merchant):
    customer = await merchant.customer("pause", plans=("Pro",))
    sub_id = customer.sub["id"]
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    await portal.card("Pro").get_by_role("button", name="Pause").click()
    await portal.says("Your subscription is paused.")
    assert portal.watch.dialogs == ["Pause this subscription? You will not be charged while it is paused."]
    await expect(portal.card("Pro")).to_contain_text("Paused")
    paused = await merchant.subscription(sub_id)
    assert paused["status"] == "paused"
    assert paused["paused_at"] is not None
    assert await _only(stack, "subscription.updated", sub_id, status="paused") == paused

    await portal.card("Pro").get_by_role("button", name="Resume").click()
    await portal.says("Your subscription is active again.")
    await expect(portal.card("Pro")).to_contain_text("Active")
    resumed = await merchant.subscription(sub_id)
    assert (resumed["status"], resumed["paused_at"]) == ("active", None)
    assert await _only(stack, "subscription.updated", sub_id, status="active") == resumed
    portal.assert_clean()


# -- seats ---------------------------------------------------------------------------------------------------


async def test_invite_a_team_member_resend_and_remove_them(page, mode, stack, merchant):
    customer = await merchant.customer("team-owner", plans=("Team",), seats=3)
    sub_id = customer.sub["id"]
    invitee = customer.email.replace("team-owner", "teammate")
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    team = await portal.invite(invitee)
    row = team.get_by_role("listitem").filter(has_text=invitee)
    await expect(row).to_contain_text("Invited")
    [seat] = (await merchant.get("/v1/customer-seats", subscription_id=sub_id))["items"]
    assert (seat["email"], seat["status"]) == (invitee, "pending")
    assert await _only(stack, "customer_seat.assigned", seat["id"]) == seat

    await row.get_by_role("button", name="Resend invitation").click()
    await portal.says("Invitation sent again.")
    invitations = await emails_to(stack, invitee, 2)
    assert all("seat" in message["Subject"] for message in invitations)

    await row.get_by_role("button", name="Remove").click()
    await portal.says(f"{invitee} no longer has a seat.")
    assert portal.watch.dialogs == [f"Remove {invitee} from the team?"]
    await expect(row).to_contain_text("Revoked")
    [revoked] = (await merchant.get("/v1/customer-seats", subscription_id=sub_id))["items"]
    assert (revoked["status"], revoked["id"]) == ("revoked", seat["id"])
    assert await _only(stack, "customer_seat.revoked", seat["id"]) == revoked
    portal.assert_clean()


async def test_an_invited_team_member_accepts_from_the_email(page, mode, stack, merchant, browser):
    customer = await merchant.customer("team-lead", plans=("Team",), seats=2)
    invitee = customer.email.replace("team-lead", "newcomer")
    portal = await Portal.open(page, mode, stack, customer.email, "Subscriptions")
    team = await portal.invite(invitee)

    [invitation] = await emails_to(stack, invitee)
    context = await browser.new_context()  # the team member's own browser
    try:
        theirs = await context.new_page()
        await theirs.goto(claim_link(invitation))
        await theirs.get_by_role("button", name="Accept invitation").click()
        await expect(theirs.get_by_role("heading", level=1)).to_have_text("You're in")
        await expect(theirs.get_by_role("status")).to_contain_text(f"{invitee} now has a seat on Team")
    finally:
        await context.close()

    await portal.go("Overview")
    await portal.go("Subscriptions")
    await expect(team.get_by_role("listitem").filter(has_text=invitee)).to_contain_text("Joined")
    [seat] = (await merchant.get("/v1/customer-seats", subscription_id=customer.sub["id"]))["items"]
    assert seat["status"] == "claimed"
    assert seat["claimed_at"] is not None
    assert await _only(stack, "customer_seat.claimed", seat["id"]) == seat
    portal.assert_clean()


# -- payment methods and orders ------------------------------------------------------------------------------


async def test_add_a_card_make_it_the_default_and_remove_the_old_one(page, mode, stack, merchant):
    customer = await merchant.customer("cards")
    portal = await Portal.open(page, mode, stack, customer.email, "Settings")
    cards = await portal.add_card("5555 5555 5555 4444", "11", "2031")
    mastercard = cards.get_by_role("listitem").filter(has_text="Mastercard •••• 4444")
    visa = cards.get_by_role("listitem").filter(has_text="Visa •••• 4242")
    await expect(mastercard).to_contain_text("expires 11/2031")
    await expect(mastercard).not_to_contain_text("Default")
    await expect(visa).to_contain_text("Default")
    methods = f"/v1/customers/{customer.id}/payment-methods"
    added = {m["last4"]: m for m in (await merchant.get(methods))["items"]}
    assert (added["4444"]["brand"], added["4444"]["is_default"], added["4242"]["is_default"]) == (
        "mastercard",
        False,
        True,
    )
    assert (
        await _only(stack, "payment_method.updated", added["4444"]["id"], is_default=False) == added["4444"]
    )

    await mastercard.get_by_role("button", name="Make default").click()
    await portal.says("Default card updated.")
    await expect(mastercard).to_contain_text("Default")
    await expect(visa).not_to_contain_text("Default")
    now = {m["last4"]: m for m in (await merchant.get(methods))["items"]}
    assert (now["4444"]["is_default"], now["4242"]["is_default"]) == (True, False)
    assert await _only(stack, "payment_method.updated", now["4444"]["id"], is_default=True) == now["4444"]

    await visa.get_by_role("button", name="Remove").click()
    await portal.says("Card removed.")
    assert portal.watch.dialogs == ["Remove the card ending in 4242?"]
    await expect(visa).to_have_count(0)
    [left] = (await merchant.get(methods))["items"]
    assert (left["last4"], left["is_default"]) == ("4444", True)
    # the old card was the default when the API saved it; it is sent as it was when removed
    removed = await _only(stack, "payment_method.updated", str(customer.card_id), is_default=False)
    assert (removed["last4"], removed["customer_id"]) == ("4242", customer.id)
    portal.assert_clean()


async def test_pay_a_failed_order_with_a_new_card(page, mode, stack, merchant):
    customer = await merchant.customer("failed-payment", card=FAILING_CARD, plans=("Pro",))
    assert customer.sub["status"] == "past_due"
    [order] = await merchant.orders(customer)
    assert order["status"] == "pending"
    portal = await Portal.open(page, mode, stack, customer.email, "Orders")
    failed = portal.card(f"{order['invoice_number']} · {day(order['created_at'])}")
    await expect(failed).to_contain_text("Payment due")

    await portal.go("Settings")
    await portal.add_card("4242 4242 4242 4242", "08", "2032")

    await portal.go("Orders")
    await failed.get_by_label("Pay with").select_option(label="Visa •••• 4242 (08/32)")
    await failed.get_by_role("button", name=f"Pay {money(order['total'])} now").click()
    await portal.says("Thank you, the payment went through.")
    await expect(failed).to_contain_text("Paid")
    await expect(failed.get_by_role("button", name=re.compile("^Pay "))).to_have_count(0)

    [paid] = await merchant.orders(customer)
    assert (paid["id"], paid["status"], paid["total"]) == (order["id"], "paid", order["total"])
    assert (await merchant.subscription(customer.sub["id"]))["status"] == "active"
    assert await _only(stack, "order.paid", order["id"]) == paid
    portal.assert_clean()


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def _download(portal: Portal, link: Any) -> tuple[str, bytes]:
    """Click a download link as a person does; the file's suggested name and content."""
    async with portal.page.expect_download() as event:
        await link.click()
    download = await event.value
    path = await download.path()
    return download.suggested_filename, path.read_bytes()


async def test_download_the_invoice_and_the_receipt_of_a_partly_refunded_order(page, mode, stack, merchant):
    customer = await merchant.customer(
        "documents",
        plans=("Pro",),
        billing_name="Documents Person GmbH",
        billing_address={"line1": "Torstraße 1", "city": "Berlin", "postal_code": "10119", "country": "DE"},
    )
    [order] = await merchant.orders(customer)
    await merchant.post(f"/v1/orders/{order['id']}/refunds", {"amount": 700, "destination": "payment_method"})
    order = (await merchant.orders(customer))[0]
    number, issued = order["invoice_number"], day(order["invoice_issued_at"] or order["created_at"])
    portal = await Portal.open(page, mode, stack, customer.email, "Orders")
    card = portal.card(f"{number} · {day(order['created_at'])}")
    await expect(card).to_contain_text("Partially refunded")

    name, invoice = await _download(portal, card.get_by_role("link", name="Download invoice (PDF)"))
    assert name == f"invoice-{number}.pdf"
    assert invoice.startswith(b"%PDF")
    text = _pdf_text(invoice)
    assert f"Invoice number: {number}" in text
    assert f"Date of issue: {issued}" in text
    assert "Documents Person GmbH" in text
    assert "Torstraße 1" in text
    assert re.search(rf"Total\s*{re.escape(money(order['total']))}", text), text
    assert re.search(rf"Refunded\s*{re.escape(money(700))}", text), text

    name, receipt = await _download(portal, card.get_by_role("link", name="Download receipt (PDF)"))
    assert name == f"receipt-{number}.pdf"
    text = _pdf_text(receipt)
    assert f"Receipt for invoice: {number}" in text
    assert f"Date paid: {day(order['paid_at'])}" in text
    assert "Visa •••• 4242" in text
    assert re.search(rf"Amount paid\s*{re.escape(money(order['total']))}", text), text
    assert re.search(rf"Refunded to your card on {re.escape(day(order['refunds'][0]['created_at']))}", text)
    assert "Status: Partially refunded" in text
    assert re.search(rf"Refunded in total\s*{re.escape(money(700))}", text), text
    assert re.search(rf"Net amount after refunds\s*{re.escape(money(order['total'] - 700))}", text), text
    assert order["refunded_amount"] == 700
    assert await _only(stack, "order.refunded", order["id"]) == order
    portal.assert_clean()


# -- settings and benefits -----------------------------------------------------------------------------------


async def test_edit_billing_details_and_see_them_saved(page, mode, stack, merchant):
    customer = await merchant.customer("billing-details")
    portal = await Portal.open(page, mode, stack, customer.email, "Settings")
    save = portal.ui.get_by_role("button", name="Save billing information")
    form = portal.ui.locator("form").filter(has=save)
    typed = {
        "Billing name": "Journey Werkstatt GmbH",
        "Company": "Journey Werkstatt",
        "Tax ID": "DE811234567",
        "Billing email": "invoices@journey-werkstatt.example",
        "Address line 1": "Torstraße 109",
        "City": "Berlin",
        "Postal code": "10119",
    }
    for label, value in typed.items():
        await form.get_by_label(label, exact=True).fill(value)
    await form.get_by_label("Country").select_option(label="Germany")
    await save.click()
    await portal.says("Billing information saved.")
    for label, value in typed.items():
        await expect(form.get_by_label(label, exact=True)).to_have_value(value)
    await expect(form.get_by_label("Country")).to_have_value("DE")

    await portal.go("Overview")
    await portal.go("Settings")  # what was saved, read back
    for label, value in typed.items():
        await expect(form.get_by_label(label, exact=True)).to_have_value(value)
    saved = await merchant.get(f"/v1/customers/{customer.id}")
    assert (saved["billing_name"], saved["company_name"], saved["tax_id"]) == (
        "Journey Werkstatt GmbH",
        "Journey Werkstatt",
        "DE811234567",
    )
    assert saved["billing_email"] == "invoices@journey-werkstatt.example"
    address = saved["billing_address"]
    assert (address["line1"], address["city"], address["postal_code"], address["country"]) == (
        "Torstraße 109",
        "Berlin",
        "10119",
        "DE",
    )
    assert await _only(stack, "customer.updated", customer.id) == saved
    portal.assert_clean()


async def test_use_every_benefit(page, mode, stack, merchant):
    customer = await merchant.customer("benefits", plans=("Team", "API"))
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.context.route(
        "https://discord.com/**",
        lambda route: route.fulfill(content_type="text/html", body="<h1>Discord</h1>"),
    )
    benefits = {b["description"]: b for b in (await merchant.get("/v1/benefits", limit=100))["items"]}
    portal = await Portal.open(page, mode, stack, customer.email)
    section = portal.ui.get_by_role("region", name="Your benefits")

    def benefit(description: str) -> Any:
        return section.locator(".ss-benefit").filter(has=portal.ui.get_by_role("heading", name=description))

    license_key = benefit("Acme Desktop license key")
    key = (await license_key.locator("code").inner_text()).strip()
    assert re.fullmatch(r"ACME(-[A-Z0-9]{5})+", key), key
    await license_key.get_by_role("button", name="Copy").click()
    await expect(license_key.get_by_role("button", name="✓")).to_be_visible()
    assert await page.evaluate("() => navigator.clipboard.readText()") == key

    async with page.expect_popup() as opened:
        await benefit("Acme community on Discord").get_by_role("link", name="Join the Discord server").click()
    invite = await opened.value
    assert invite.url == benefits["Acme community on Discord"]["properties"]["invite_url"]
    await invite.close()

    name, content = await _download(portal, benefit("Acme CLI quick-start guide").get_by_role("link").first)
    assert name == "acme-cli-quickstart.md"
    assert content.startswith(b"# Acme CLI quick start")

    api_key = benefit("Acme API key")
    await expect(api_key).to_contain_text("No key generated yet.")
    await api_key.get_by_role("button", name="Generate a key").click()
    await portal.says("Your new API key is below. Copy it now: it will not be shown again.")
    revealed = (await portal.ui.locator(".ss-secret code").inner_text()).strip()
    assert revealed.startswith("acme_live_")
    await expect(benefit("Acme API key")).to_contain_text(f"Key ending in {revealed[-4:]}")

    support = benefit("Priority support")
    await expect(support).to_contain_text("Write to priority@acme.example")
    mail_link = support.get_by_role("link")
    assert await mail_link.get_attribute("href") == "mailto:priority@acme.example"
    await expect(mail_link).not_to_have_text(re.compile("^mailto:"))

    granted = await webhook_events(
        stack, "benefit_grant.created", lambda d: d["customer_id"] == customer.id, 6
    )
    shown = {"Acme Desktop license key", "Acme community on Discord", "Acme CLI quick-start guide"}
    shown |= {"Acme API key", "Priority support"}
    assert {benefits_by_id(benefits)[g["data"]["benefit_id"]] for g in granted} == shown
    portal.assert_clean()


def benefits_by_id(benefits: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {b["id"]: description for description, b in benefits.items()}


def claim_link(message: Any) -> str:
    """The seat-claim link in an invitation email's plain-text part."""
    body = message.get_body(("plain",)).get_content()
    found = re.search(r"https?://\S+/claim#token=[\w.-]+", body)
    assert found, body
    return found.group(0)
