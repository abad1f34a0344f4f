"""The customer's own data in a real Chromium, hosted and embedded: in Settings the person asks for their
data, watches it being prepared, gets the email, downloads the ZIP (opened and checked here); then asks for
their account to be deleted and confirms. The merchant approves through the API, the verified webhooks
arrive, and the person can no longer sign in."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import expect

from tests.browser.journey import MODES, Merchant, Portal
from tests.browser.support import emails_to, merchant_api, webhook_events
from tests.browser.test_flows import BLOCKING


@pytest.fixture(scope="session")
async def merchant(stack: Any) -> AsyncIterator[Merchant]:
    async with merchant_api(stack) as http:
        yield Merchant(stack, http)


@pytest.mark.parametrize("mode", MODES)
async def test_download_my_data_then_delete_my_account(page, mode, stack, merchant):
    customer = await merchant.customer("my-data", plans=("Pro",), company_name="Data Person Ltd")
    portal = await Portal.open(page, mode, stack, customer.email, "Settings")
    mails_before = len(stack.mail.received_by(customer.email))
    mine = portal.ui.locator("#my-data")
    await mine.get_by_role("button", name="Download my data").click()
    await portal.says("We are preparing a copy of your data.")
    await expect(mine.get_by_label("Preparing your data…")).to_be_visible()
    # the view polls how far it is and shows the download once the worker built it
    download_link = mine.get_by_role("link", name="Download my data (ZIP")
    await expect(download_link).to_be_visible(timeout=20_000)
    ready = await emails_to(stack, customer.email, mails_before + 1)
    assert ready[-1]["Subject"] == "Your data from Acme is ready"
    assert f"/portal/{stack.slug}?view=settings" in ready[-1].get_body(("plain",)).get_content()

    async with page.expect_download() as started:
        await download_link.click()
    download = await started.value
    assert download.suggested_filename.startswith("my-data-")
    assert download.suggested_filename.endswith(".zip")
    with open(await download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    data = json.loads(archive.read("data.json"))
    assert (data["customer"]["id"], data["customer"]["email"]) == (customer.id, customer.email)
    assert data["customer"]["company_name"] == "Data Person Ltd"
    assert [s["id"] for s in data["subscriptions"]] == [customer.sub["id"]]
    orders = await merchant.orders(customer)
    assert sorted(o["id"] for o in data["orders"]) == sorted(o["id"] for o in orders)
    assert sorted(n for n in archive.namelist() if n.startswith("invoices/")) == sorted(
        f"invoices/{o['invoice_number']}.pdf" for o in orders
    )
    for name in archive.namelist():
        if name.startswith("invoices/"):
            assert archive.read(name).startswith(b"%PDF")
    assert {"payment_methods", "usage", "wallet", "activity", "connected_accounts"} <= set(data)

    leaving = portal.ui.locator("#delete-account")
    await leaving.get_by_text("Delete my account", exact=True).last.click()
    await leaving.get_by_label("I understand, and I want my account deleted").check()
    if mode == "hosted":  # the download and the open deletion form, as axe-core sees them
        results = await Axe().run(page)
        blocking = [v["id"] for v in results.response["violations"] if v["impact"] in BLOCKING]
        assert blocking == []
    await leaving.get_by_role("button", name="Request account deletion").click()
    await portal.says("Your request to delete your account was sent.")
    await expect(leaving).to_contain_text("You asked for your account to be deleted on")
    [requested] = await webhook_events(
        stack, "customer.deletion_requested", lambda d: d.get("id") == customer.id
    )
    assert requested["data"]["deletion_requested_at"]
    portal.assert_clean()

    # the merchant's backend approves
    erased = await merchant.http.post(f"/v1/customers/{customer.id}/erase")
    assert erased.status_code == 200, erased.text
    [deleted] = await webhook_events(stack, "customer.deleted", lambda d: d.get("id") == customer.id)
    assert deleted["data"]["erased_at"]
    assert deleted["data"]["email"].endswith("@erased.invalid")
    assert deleted["data"]["company_name"] == ""
    assert (await merchant.subscription(customer.sub["id"]))["status"] == "canceled"
    invoice = await merchant.http.get(f"/v1/orders/{orders[0]['id']}/invoice")
    assert invoice.status_code == 200
    assert invoice.content.startswith(b"%PDF")

    # and the person can no longer sign in: the old session is gone, an emailed link never comes
    if mode == "hosted":
        await page.reload()
        await expect(page.get_by_label("Email address")).to_be_visible()
    await page.goto(f"{stack.portal_url}/portal/{stack.slug}")
    await page.get_by_label("Email address").fill(customer.email)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    received = len(stack.mail.received_by(customer.email))
    await asyncio.sleep(3)  # the worker sends mail every 0.1 s here
    assert len(stack.mail.received_by(customer.email)) == received
