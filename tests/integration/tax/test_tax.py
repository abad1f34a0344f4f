"""Tax with hand-computed figures, read back from the API, the portal's views, the webhooks and the PDFs
(pypdf): German B2C at 19 % exclusive and inclusive, a US state rate, a mixed invoice with an exempt line,
reverse charge, a partial refund's credit note; preview == order."""

import html
from datetime import timedelta

import msgspec
import pytest

from server.billing import orders, payments
from server.billing.orders import LineDraft
from server.clock import FrozenClock, use_clock
from server.db.engine import write_transaction
from server.db.tables import WebhookEvent
from server.subscriptions import service as subscriptions
from server.tokens import mint_portal_token
from tests.integration.subscriptions.test_subscriptions import GOOD_CARD, START

VAT = {"name": "VAT", "rate": "19"}


@pytest.fixture
def frozen():
    with use_clock(FrozenClock(START)) as clock:
        yield clock


async def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


async def _post(client, headers, path, body, status=201):
    return await _ok(await client.post(path, json=body, headers=headers), status)


@pytest.fixture
async def german_seller(client, api_headers):
    await _post(client, api_headers, "/v1/tax-registrations", {"country": "DE", "tax_number": "DE136695976"})
    rate = await _post(
        client, api_headers, "/v1/tax-rates", {"country": "DE", "percentage": 19, "name": "VAT"}
    )
    await _post(
        client,
        api_headers,
        "/v1/tax-rates",
        {"country": "US", "region": "NY", "percentage": "8.875", "name": "Sales tax"},
    )
    return rate


async def _customer(client, headers, keyring, org, address, **fields):
    customer = await _post(
        client,
        headers,
        "/v1/customers",
        {"email": f"{address['country'].lower()}@example.com", "billing_address": address, **fields},
    )
    await payments.add_payment_method(
        org.org.id, customer["id"], keyring=keyring, number=GOOD_CARD, exp_month=12, exp_year=2035, cvc="123"
    )
    return customer


async def _price(client, headers, amount, *, tax_behavior="taxable", currency="EUR", interval="month"):
    product = await _post(
        client,
        headers,
        "/v1/products",
        {
            "name": f"Plan {amount} {tax_behavior}",
            "tax_behavior": tax_behavior,
            "prices": [{"kind": "fixed", "interval": interval, "currency": currency, "amount": amount}],
        },
    )
    assert product["tax_behavior"] == tax_behavior
    return product["prices"][0]["id"]


async def _subscribe(client, headers, customer, price_id):
    body = {"customer_id": customer["id"], "price_id": price_id}
    subscription = await _post(client, headers, "/v1/subscriptions", body)
    listed = await _ok(
        await client.get("/v1/orders", params={"subscription_id": subscription["id"]}, headers=headers)
    )
    return subscription, listed["items"][-1]


async def _webhook_order(org_id, order_id, type_="order.created"):
    rows = await WebhookEvent.select(WebhookEvent.payload).where(
        WebhookEvent.org == org_id, WebhookEvent.type == type_
    )
    found = [msgspec.json.decode(r["payload"]) for r in rows]
    return next(data for data in found if data["id"] == order_id)


def _figures(order):
    return {
        "subtotal": order["subtotal"],
        "tax_amount": order["tax_amount"],
        "tax_lines": order["tax_lines"],
        "total": order["total"],
    }


async def _portal(client, org, customer, view):
    """A portal view as the customer sees it (their session opened the way the loader opens it)."""
    token = mint_portal_token(org_id=org.org.id, customer_id=customer["id"], secret=org.embed_secret)
    opened = await client.post("/embed/session", json={"token": token, "origin": "https://app.example.com"})
    assert opened.status_code == 201, opened.text
    page = await client.get(
        f"/embed/views/{view}", headers={"authorization": f"Bearer {opened.json()['session']}"}
    )
    assert page.status_code == 200, page.text
    return html.unescape(page.text).replace("\xa0", " ")


async def _invoice_text(client, headers, order):
    invoice = await client.get(f"/v1/orders/{order['id']}/invoice", headers=headers)
    assert invoice.status_code == 200
    return _pdf_text(invoice.content).replace("\xa0", " ")


async def test_tax_rates_api(client, api_headers):
    rate = await _post(
        client, api_headers, "/v1/tax-rates", {"country": "FR", "percentage": "20", "name": "TVA"}
    )
    assert (rate["percentage"], rate["inclusive"], rate["active"]) == ("20", False, True)
    changed = await _ok(
        await client.patch(
            f"/v1/tax-rates/{rate['id']}", json={"percentage": "5.5", "inclusive": True}, headers=api_headers
        )
    )
    assert (changed["percentage"], changed["inclusive"], changed["name"]) == ("5.5", True, "TVA")
    assert [r["id"] for r in await _ok(await client.get("/v1/tax-rates", headers=api_headers))] == [
        rate["id"]
    ]
    assert (await _ok(await client.get(f"/v1/tax-rates/{rate['id']}", headers=api_headers)))[
        "percentage"
    ] == "5.5"
    for bad in ({"percentage": 101}, {"percentage": "0.00001"}, {"percentage": -1}):
        response = await client.patch(f"/v1/tax-rates/{rate['id']}", json=bad, headers=api_headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    bad_country = await client.post(
        "/v1/tax-rates", json={"country": "ZZ", "percentage": 5, "name": "X"}, headers=api_headers
    )
    assert bad_country.status_code == 422


async def test_german_consumer_pays_19_percent_on_top(client, api_headers, org, keyring, german_seller):
    customer = await _customer(client, api_headers, keyring, org, {"country": "DE", "city": "Berlin"})
    subscription, order = await _subscribe(
        client, api_headers, customer, await _price(client, api_headers, 1000)
    )
    assert _figures(order) == {
        "subtotal": 1000,
        "tax_amount": 190,
        "tax_lines": [{**VAT, "net": 1000, "tax": 190}],
        "total": 1190,
    }
    assert order["status"] == "paid"
    assert order["seller_tax_number"] == "DE136695976"
    assert order["reverse_charge"] is False
    line = order["lines"][0]
    assert (line["amount"], line["net"], line["tax_amount"], line["tax_rate"]) == (1000, 1000, 190, "19")
    assert _figures(await _webhook_order(org.org.id, order["id"])) == _figures(order)
    upcoming = await _ok(
        await client.get(f"/v1/subscriptions/{subscription['id']}/upcoming-invoice", headers=api_headers)
    )
    assert (upcoming["subtotal"], upcoming["tax_amount"], upcoming["total"]) == (1000, 190, 1190)


async def test_inclusive_price_is_split_into_net_and_tax(client, api_headers, org, keyring, german_seller):
    customer = await _customer(client, api_headers, keyring, org, {"country": "DE"})
    price = await _price(client, api_headers, 999, tax_behavior="inclusive")
    _, order = await _subscribe(client, api_headers, customer, price)
    # 9.99 containing 19 %: 999 * 19 / 119 = 159.504 → 1.60 tax, 8.39 net; the customer pays the 9.99
    assert _figures(order) == {
        "subtotal": 839,
        "tax_amount": 160,
        "tax_lines": [{**VAT, "net": 839, "tax": 160}],
        "total": 999,
    }
    assert _figures(await _webhook_order(org.org.id, order["id"], "order.paid")) == _figures(order)
    text = await _invoice_text(client, api_headers, order)
    for expected in ("Subtotal (net) €8.39", "VAT 19% on €8.39 €1.60", "Total €9.99"):
        assert expected in text, (expected, text)
    preview = await _portal(client, org, customer, "subscriptions")  # the next invoice, the same split
    for expected in ("€8.39", "VAT 19%", "€1.60", "€9.99"):
        assert expected in preview, expected


async def test_us_state_rate_applies_only_in_that_state(client, api_headers, org, keyring, german_seller):
    price = await _price(client, api_headers, 1000, currency="USD")
    new_york = await _customer(client, api_headers, keyring, org, {"country": "US", "state": "NY"})
    _, order = await _subscribe(client, api_headers, new_york, price)
    # 8.875 % of $10.00 = 88.75 cents → 89
    assert _figures(order) == {
        "subtotal": 1000,
        "tax_amount": 89,
        "tax_lines": [{"name": "Sales tax", "rate": "8.875", "net": 1000, "tax": 89}],
        "total": 1089,
    }
    assert _figures(await _webhook_order(org.org.id, order["id"])) == _figures(order)
    text = await _invoice_text(client, api_headers, order)
    for expected in ("Sales tax 8.875% on $10.00 $0.89", "Total $10.89"):
        assert expected in text, (expected, text)
    preview = await _portal(client, org, new_york, "subscriptions")
    for expected in ("Sales tax 8.875%", "$0.89", "$10.89"):
        assert expected in preview, expected
    oregon = await _customer(client, api_headers, keyring, org, {"country": "US", "state": "OR"}, name="Or")
    _, export = await _subscribe(client, api_headers, oregon, price)
    assert _figures(export) == {"subtotal": 1000, "tax_amount": 0, "tax_lines": [], "total": 1000}


async def test_mixed_invoice_with_an_exempt_line(client, api_headers, org, keyring, german_seller):
    customer = await _customer(client, api_headers, keyring, org, {"country": "DE"})
    taxable = await _price(client, api_headers, 2000, interval="one_time")
    exempt = await _price(client, api_headers, 500, tax_behavior="exempt", interval="one_time")
    lines = [
        LineDraft(kind="one_time", description="Course", amount=2000, unit_amount=2000, price_id=taxable),
        LineDraft(kind="one_time", description="Exam fee", amount=500, unit_amount=500, price_id=exempt),
    ]
    async with write_transaction():
        created = await orders.create_order(
            org.org.id,
            customer["id"],
            subscription_id=None,
            billing_reason="purchase",
            currency="EUR",
            lines=lines,
        )
    order = await _ok(await client.get(f"/v1/orders/{created.id}", headers=api_headers))
    assert _figures(order) == {
        "subtotal": 2500,
        "tax_amount": 380,
        "tax_lines": [
            {**VAT, "net": 2000, "tax": 380},
            {"name": "Tax exempt", "rate": "0", "net": 500, "tax": 0},
        ],
        "total": 2880,
    }
    assert [(line["net"], line["tax_amount"]) for line in order["lines"]] == [(2000, 380), (500, 0)]
    assert _figures(await _webhook_order(org.org.id, order["id"])) == _figures(order)
    text = await _invoice_text(client, api_headers, order)
    for expected in (
        "Course",
        "Exam fee",
        "Subtotal (net) €25.00",
        "VAT 19% on €20.00 €3.80",
        "Tax exempt 0% on €5.00 €0.00",
        "Total €28.80",
    ):
        assert expected in text, (expected, text)
    orders_view = await _portal(client, org, customer, "orders")  # the portal shows the order the same way
    for expected in ("VAT 19%", "€3.80", "Tax exempt", "€28.80"):
        assert expected in orders_view, expected


async def test_previews_equal_the_orders_with_tax(org, keyring, client, api_headers, german_seller, frozen):
    customer = await _customer(client, api_headers, keyring, org, {"country": "DE"})
    product = await _post(
        client,
        api_headers,
        "/v1/products",
        {
            "name": "Team",
            "prices": [{"kind": "per_seat", "interval": "month", "currency": "EUR", "seat_amount": 1000}],
        },
    )
    sub = await subscriptions.create_subscription(
        org.org.id, customer["id"], product["prices"][0]["id"], seats=2
    )
    frozen.advance(timedelta(days=10, hours=3))
    preview = await subscriptions.preview_seat_change(org.org.id, sub.id, 5)
    change = await subscriptions.change_seats(org.org.id, sub.id, 5)
    assert change.order is not None
    assert preview.proration_tax > 0
    assert (preview.proration_total, preview.proration_tax) == (change.order.total, change.order.tax_amount)
    assert preview.proration_total == preview.proration + preview.proration_tax
    frozen.advance(timedelta(days=25))
    upcoming = await subscriptions.preview_next_invoice(org.org.id, sub.id)
    renewal = await subscriptions.renew_subscription(org.org.id, sub.id)
    assert renewal is not None
    assert (upcoming.subtotal, upcoming.tax_amount, upcoming.total) == (5000, 950, 5950)
    assert (renewal.subtotal, renewal.tax_amount, renewal.total) == (5000, 950, 5950)
    assert msgspec.to_builtins(upcoming.tax_lines) == msgspec.json.decode(renewal.tax_lines)


async def test_customer_tax_ids_are_checked_offline(client, api_headers):
    from typing import get_args

    from server.customers.schemas import TaxIdType
    from server.tax.tax_ids import TAX_ID_TYPES

    assert set(get_args(TaxIdType)) == {"", *TAX_ID_TYPES}
    good = await _post(
        client,
        api_headers,
        "/v1/customers",
        {"email": "vat@example.com", "tax_id_type": "eu_vat", "tax_id": "FR 40 303 265 045"},
    )
    assert (good["tax_id"], good["tax_id_type"]) == ("FR40303265045", "eu_vat")
    for kind, value in (("eu_vat", "FR40303265046"), ("gb_vat", "GB123"), ("au_abn", "51 824 753 557")):
        response = await client.patch(
            f"/v1/customers/{good['id']}", json={"tax_id_type": kind, "tax_id": value}, headers=api_headers
        )
        assert response.status_code == 422, response.text
        assert "not a valid" in response.json()["detail"]
    kept = await _ok(await client.get(f"/v1/customers/{good['id']}", headers=api_headers))
    assert kept["tax_id"] == "FR40303265045"
    untyped = await client.patch(
        f"/v1/customers/{good['id']}", json={"tax_id_type": "", "tax_id": "anything"}, headers=api_headers
    )
    assert untyped.status_code == 200


async def test_french_business_pays_no_vat_under_reverse_charge(
    client, api_headers, org, keyring, german_seller
):
    price = await _price(client, api_headers, 1000)
    business = await _customer(
        client,
        api_headers,
        keyring,
        org,
        {"country": "FR", "city": "Paris"},
        company_name="Société Exemple SA",
        tax_id_type="eu_vat",
        tax_id="FR40303265045",
    )
    subscription, order = await _subscribe(client, api_headers, business, price)
    assert _figures(order) == {
        "subtotal": 1000,
        "tax_amount": 0,
        "tax_lines": [{"name": "Reverse charge", "rate": "0", "net": 1000, "tax": 0}],
        "total": 1000,
    }
    assert order["reverse_charge"] is True
    assert order["seller_tax_number"] == "DE136695976"
    assert (await _webhook_order(org.org.id, order["id"]))["reverse_charge"] is True
    upcoming = await _ok(
        await client.get(f"/v1/subscriptions/{subscription['id']}/upcoming-invoice", headers=api_headers)
    )
    assert (upcoming["tax_amount"], upcoming["reverse_charge"], upcoming["total"]) == (0, True, 1000)
    # A German business pays German VAT: reverse charge is for another member state only.
    domestic = await _customer(
        client, api_headers, keyring, org, {"country": "DE"}, tax_id_type="eu_vat", tax_id="DE136695976"
    )
    _, german_order = await _subscribe(client, api_headers, domestic, price)
    assert (german_order["tax_amount"], german_order["reverse_charge"]) == (190, False)


def _pdf_text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_invoice_pdf_carries_tax_numbers_rates_and_the_reverse_charge_note(
    client, api_headers, org, keyring, german_seller
):
    price = await _price(client, api_headers, 1000)
    consumer = await _customer(client, api_headers, keyring, org, {"country": "DE", "city": "Berlin"})
    _, order = await _subscribe(client, api_headers, consumer, price)
    invoice = await client.get(f"/v1/orders/{order['id']}/invoice", headers=api_headers)
    text = _pdf_text(invoice.content)
    for expected in (
        "Tax number: DE136695976",
        "Subtotal (net)",
        "VAT 19% on €10.00",  # English writes a percentage without a space
        "€1.90",
        "€11.90",
        "Date of issue",
    ):
        assert expected in text, (expected, text)
    assert "Reverse charge" not in text
    business = await _customer(
        client, api_headers, keyring, org, {"country": "FR"}, tax_id_type="eu_vat", tax_id="FR40303265045"
    )
    _, reverse = await _subscribe(client, api_headers, business, price)
    text = _pdf_text((await client.get(f"/v1/orders/{reverse['id']}/invoice", headers=api_headers)).content)
    for expected in (
        "Tax ID: FR40303265045",
        "Tax number: DE136695976",
        "Reverse charge 0% on €10.00",
        "Article 196",
    ):
        assert expected in text, (expected, text)


async def test_partial_refund_issues_a_numbered_credit_note(client, api_headers, org, keyring, german_seller):
    customer = await _customer(client, api_headers, keyring, org, {"country": "DE"})
    _, order = await _subscribe(client, api_headers, customer, await _price(client, api_headers, 1000))
    assert order["total"] == 1190
    refund = await _post(client, api_headers, f"/v1/orders/{order['id']}/refunds", {"amount": 595})
    notes = await _ok(await client.get(f"/v1/orders/{order['id']}/credit-notes", headers=api_headers))
    # half of 11.90 back: 5.00 net and 0.95 VAT, under the credit-note sequence
    assert [
        (n["number"], n["refund_id"], n["invoice_number"], n["net"], n["tax_amount"], n["total"])
        for n in notes
    ] == [("INV-CN-000001", refund["id"], order["invoice_number"], 500, 95, 595)]
    assert notes[0]["tax_lines"] == [{**VAT, "net": 500, "tax": 95}]
    refunded = await _webhook_order(org.org.id, order["id"], "order.refunded")
    assert refunded["credit_notes"] == notes
    second = await _post(client, api_headers, f"/v1/orders/{order['id']}/refunds", {"amount": 100})
    notes = await _ok(await client.get(f"/v1/orders/{order['id']}/credit-notes", headers=api_headers))
    assert [(n["number"], n["refund_id"], n["net"], n["tax_amount"]) for n in notes][1] == (
        "INV-CN-000002",
        second["id"],
        84,
        16,  # 1.00 * 19 / 119 = 0.1597 → 0.16 VAT
    )
    pdf = await client.get(f"/v1/orders/{order['id']}/credit-notes/{notes[0]['id']}/pdf", headers=api_headers)
    assert pdf.status_code == 200
    text = _pdf_text(pdf.content)
    for expected in (
        "Credit note",
        "INV-CN-000001",
        f"For invoice: {order['invoice_number']}",
        "Tax number: DE136695976",
        "VAT 19% on -€5.00",
        "-€0.95",
        "-€5.95",
    ):
        assert expected in text, (expected, text)
    again = await client.get(
        f"/v1/orders/{order['id']}/credit-notes/{notes[0]['id']}/pdf", headers=api_headers
    )
    assert again.content == pdf.content
