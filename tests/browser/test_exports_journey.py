"""The customer takes their usage and orders away as CSV, in a real Chromium on the hosted and the embedded
portal: they click "Download daily usage (CSV)" and "Download all orders (CSV)", the browser saves the
files, and every row says what the merchant's API says (usage per day as sent, this period's total as
``/v1/customers/{id}/usage`` reports it; each order as ``/v1/orders`` has it)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.journey import MODES, Merchant, Portal
from tests.browser.support import merchant_api


@pytest.fixture(scope="session")
async def merchant(stack: Any) -> AsyncIterator[Merchant]:
    async with merchant_api(stack) as http:
        yield Merchant(stack, http)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def _download(portal: Portal, link: str) -> tuple[str, list[dict[str, str]]]:
    """Click ``link`` as the person does; the saved file's name and its rows (by the header's names)."""
    async with portal.page.expect_download() as started:
        await portal.ui.get_by_role("link", name=link).click()
    download = await started.value
    with open(await download.path(), encoding="utf-8", newline="") as saved:
        rows = list(csv.DictReader(io.StringIO(saved.read())))
    return download.suggested_filename, rows


async def test_usage_and_orders_csv_downloaded_from_the_portal_match_the_api(page, mode, stack, merchant):
    customer = await merchant.customer("exports", plans=("Pro", "API"))
    now = datetime.now(UTC).replace(microsecond=0)
    sent = {  # UTC day -> the api_requests values sent for it; days before the period show in the file too
        now - timedelta(days=2): (1200, 300),
        now - timedelta(days=1): (500,),
        now: (700, 800),
    }
    events = [
        {"name": "api_requests", "customer_id": customer.id, "value": value, "occurred_at": when.isoformat()}
        for when, values in sent.items()
        for value in values
    ]
    await merchant.post("/v1/events", {"events": events})

    portal = await Portal.open(page, mode, stack, customer.email, "Usage")
    name, usage_rows = await _download(portal, "Download daily usage (CSV)")
    assert name == "usage.csv"
    report = await merchant.get(f"/v1/customers/{customer.id}/usage")
    [meter] = [m for m in report["meters"] if m["event_name"] == "api_requests"]
    expected = [
        {
            "date": when.date().isoformat(),
            "meter_id": meter["meter_id"],
            "meter": meter["name"],
            "event_name": "api_requests",
            "unit": meter["unit_name"],
            "value": str(sum(values)),
        }
        for when, values in sorted(sent.items())
    ]
    assert [r for r in usage_rows if r["event_name"] == "api_requests"] == expected
    period_start = datetime.fromisoformat(meter["period_start"]).astimezone(UTC).date().isoformat()
    in_period = sum(int(r["value"]) for r in expected if r["date"] >= period_start)
    assert in_period == meter["usage"] == 1500

    await portal.go("Orders")
    name, order_rows = await _download(portal, "Download all orders (CSV)")
    assert name == "orders.csv"
    orders = sorted(await merchant.orders(customer), key=lambda o: (o["created_at"], o["id"]))
    assert len(orders) == 2
    fields = ("status", "billing_reason", "currency", "subtotal", "tax_amount", "wallet_applied", "total")
    assert [{k: r[k] for k in ("order_id", "invoice_number", *fields)} for r in order_rows] == [
        {"order_id": o["id"], "invoice_number": o["invoice_number"] or "", **{k: str(o[k]) for k in fields}}
        for o in orders
    ]
    assert [datetime.fromisoformat(r["created_at"]) for r in order_rows] == [
        datetime.fromisoformat(o["created_at"]) for o in orders
    ]
    portal.assert_clean()
