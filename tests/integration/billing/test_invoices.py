"""Invoice and receipt PDFs, read back with pypdf: the right names and numbers, frozen once issued."""

import asyncio
import base64
import hashlib
import io
from datetime import UTC, datetime

import msgspec
import pytest
from PIL import Image
from pypdf import PdfReader

from server.billing import orders
from server.billing.invoice_pdf import render_invoice
from server.billing.orders import LineDraft
from server.clock import FrozenClock, use_clock
from server.db.engine import write_transaction
from server.db.tables import Customer, InvoiceDocument, Order, Organization
from server.errors import Conflict, NotFound
from server.schemas.portal_settings import dump_portal_settings, load_portal_settings
from server.wallet import service as wallet
from tests.integration.billing.test_orders import add_card, make_customer, new_order


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
async def merchant(org):
    await Organization.update(
        {
            Organization.name: "Acme Widgets Ltd",
            Organization.legal_address: "1 Market Street\nSpringfield 12345",
            Organization.support_email: "billing@acme.test",
        }
    ).where(Organization.id == org.org.id)
    return org.org.id


@pytest.fixture
async def customer(merchant):
    return await make_customer(
        merchant,
        name="Ada",
        billing_name="Ada Lovelace",
        company_name="Analytical Engines GmbH",
        billing_email="accounts@engines.test",
        tax_id="DE123456789",
        billing_address={"line1": "12 Byron Road", "city": "Berlin", "postal_code": "10115", "country": "DE"},
    )


async def test_invoice_shows_merchant_customer_lines_and_totals(merchant, customer, keyring):
    await wallet.credit(merchant, customer.id, 500, "USD", "promotional", "welcome")
    await add_card(keyring, merchant, customer.id)
    order = await new_order(merchant, customer.id, 2500, 1500)
    assert await orders.attempt_payment(merchant, order.id)
    text = text_of(await orders.invoice_pdf(merchant, order.id))
    for expected in (
        "Invoice",
        "INV-000001",
        "Acme Widgets Ltd",
        "1 Market Street",
        "billing@acme.test",
        "Ada Lovelace",
        "Analytical Engines GmbH",
        "12 Byron Road",
        "10115 Berlin",
        "Tax ID: DE123456789",
        "accounts@engines.test",
        "Item 0",
        "Item 1",
        "$25.00",
        "$15.00",
        "$40.00",  # subtotal
        "Wallet credit applied",
        "-$5.00",
        "$35.00",  # total
        "Paid on",
    ):
        assert expected in text, expected


async def test_invoice_is_issued_once_and_never_changes(merchant, customer):
    order = await new_order(merchant, customer.id, 1000)
    first = await orders.invoice_pdf(merchant, order.id)
    await Customer.update({Customer.billing_name: "Someone Else"}).where(Customer.id == customer.id)
    await Organization.update({Organization.name: "Renamed Inc"}).where(Organization.id == merchant)
    again = await orders.invoice_pdf(merchant, order.id, customer_id=customer.id)
    assert again == first
    stored = await Order.objects().where(Order.id == order.id).first()
    assert stored.invoice_checksum == hashlib.sha256(first).hexdigest()
    assert stored.invoice_issued_at is not None
    assert "Ada Lovelace" in text_of(again)
    assert "Amount due" in text_of(again)


async def test_billing_details_can_be_corrected_before_issue(merchant, customer):
    order = await new_order(merchant, customer.id, 1000)
    await Customer.update({Customer.billing_name: "Augusta Ada King"}).where(Customer.id == customer.id)
    assert "Augusta Ada King" in text_of(await orders.invoice_pdf(merchant, order.id))


async def test_concurrent_first_downloads_issue_one_document(merchant, customer):
    order = await new_order(merchant, customer.id, 1000)
    pdfs = await asyncio.gather(*(orders.invoice_pdf(merchant, order.id) for _ in range(10)))
    assert len(set(pdfs)) == 1
    assert await InvoiceDocument.count().where(InvoiceDocument.order == order.id) == 1


async def test_rendering_is_deterministic(merchant, customer):
    order = await new_order(merchant, customer.id, 1000)
    await orders.invoice_pdf(merchant, order.id)
    issued = await orders.get_order(merchant, order.id)
    context = await orders._document_context(issued)
    assert render_invoice(context) == render_invoice(context)


async def test_a_tampered_stored_invoice_is_detected(merchant, customer):
    order = await new_order(merchant, customer.id, 1000)
    await orders.invoice_pdf(merchant, order.id)
    await InvoiceDocument.update({InvoiceDocument.pdf: b"%PDF-forged"}).where(
        InvoiceDocument.order == order.id
    )
    with pytest.raises(RuntimeError, match="checksum"):
        await orders.invoice_pdf(merchant, order.id)


async def test_invoices_are_the_customers_own(merchant, customer):
    order = await new_order(merchant, customer.id, 1000)
    other = await make_customer(merchant)
    with pytest.raises(NotFound):
        await orders.invoice_pdf(merchant, order.id, customer_id=other.id)
    assert await InvoiceDocument.count().where(InvoiceDocument.order == order.id) == 0


@pytest.mark.parametrize(
    ("currency", "amount", "locale", "shown"),
    [
        ("JPY", 1500, "en", "¥1,500"),
        ("JPY", 1500, "ja", "¥1,500"),
        ("KWD", 12345, "en", "KWD12.345"),
        ("EUR", 123456, "de", "1.234,56"),
    ],
)
async def test_amounts_in_the_currency_and_locale(merchant, customer, currency, amount, locale, shown):
    await Customer.update({Customer.locale: locale}).where(Customer.id == customer.id)
    order = await new_order(merchant, customer.id, amount, currency=currency)
    assert shown in text_of(await orders.invoice_pdf(merchant, order.id))


async def test_non_latin_names_print(merchant):
    customer = await make_customer(merchant, billing_name="Łukasz Żółć", company_name="Ωmega Σ")
    order = await new_order(merchant, customer.id, 100)
    text = text_of(await orders.invoice_pdf(merchant, order.id))
    assert "Łukasz Żółć" in text
    assert "Ωmega Σ" in text


def png_data_url():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    ("logo_url", "images"),
    [(None, 0), ("https://cdn.example.com/logo.png", 0), ("data:image/png;base64,!!", 0)],
)
async def test_only_inline_logos_are_embedded(org, merchant, customer, logo_url, images):
    await _set_logo(org, logo_url)
    order = await new_order(merchant, customer.id, 100)
    reader = PdfReader(io.BytesIO(await orders.invoice_pdf(merchant, order.id)))
    assert len(reader.pages[0].images) == images


async def test_inline_logo_is_embedded(org, merchant, customer):
    await _set_logo(org, png_data_url())
    order = await new_order(merchant, customer.id, 100)
    reader = PdfReader(io.BytesIO(await orders.invoice_pdf(merchant, order.id)))
    assert len(reader.pages[0].images) == 1


async def _set_logo(org, logo_url):
    settings = load_portal_settings(org.org)
    settings.branding.logo_url = logo_url
    branding, portal = dump_portal_settings(settings)
    await Organization.update({Organization.branding: branding, Organization.portal_settings: portal}).where(
        Organization.id == org.org.id
    )


async def test_receipt_for_a_paid_order_follows_refunds(merchant, customer, keyring):
    await add_card(keyring, merchant, customer.id)
    order = await new_order(merchant, customer.id, 2000)
    with pytest.raises(Conflict, match="receipts are for paid orders"):
        await orders.receipt_pdf(merchant, order.id)
    assert await orders.attempt_payment(merchant, order.id)
    receipt = text_of(await orders.receipt_pdf(merchant, order.id, customer_id=customer.id))
    for expected in ("Receipt", "INV-000001", "Amount paid", "$20.00", "Visa •••• 4242", "Ada Lovelace"):
        assert expected in receipt, expected
    await orders.refund_order(merchant, order.id, 500, "payment_method")
    await orders.refund_order(merchant, order.id, 200, "wallet")
    refunded = text_of(await orders.receipt_pdf(merchant, order.id))
    assert "Refunded to your card" in refunded
    assert "-$5.00" in refunded
    assert "Refunded to your wallet" in refunded
    assert "-$2.00" in refunded
    assert "Status: Partially refunded" in refunded
    assert "Refunded in total $7.00" in refunded
    assert "Net amount after refunds $13.00" in refunded


async def test_the_invoice_is_dated_the_day_it_was_issued_not_the_day_it_is_downloaded(merchant, customer):
    with use_clock(FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC))) as frozen:
        order = await new_order(merchant, customer.id, 1000)
        frozen.set(datetime(2026, 2, 20, 9, tzinfo=UTC))
        first = await orders.invoice_pdf(merchant, order.id)
        frozen.set(datetime(2026, 3, 1, 9, tzinfo=UTC))
        assert await orders.invoice_pdf(merchant, order.id) == first
    assert "Date of issue: Jan 5, 2026" in text_of(first)
    assert (await orders.get_order(merchant, order.id)).invoice_issued_at == datetime(
        2026, 1, 5, 9, tzinfo=UTC
    )


async def test_lines_show_their_periods_and_a_refunded_order_says_so(merchant, customer, keyring):
    await add_card(keyring, merchant, customer.id)
    start, end = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 2, 5, tzinfo=UTC)
    line = LineDraft(kind="seats", description="Team plan: seats", quantity=3, unit_amount=800, amount=2400)
    async with write_transaction():
        order = await orders.create_order(
            merchant,
            customer.id,
            subscription_id=None,
            billing_reason="purchase",
            currency="USD",
            lines=[msgspec.structs.replace(line, period_start=start, period_end=end)],
            period_start=start,
            period_end=end,
        )
    assert await orders.attempt_payment(merchant, order.id)
    await orders.refund_order(merchant, order.id, 2400, "wallet")
    text = text_of(await orders.invoice_pdf(merchant, order.id))
    assert "Team plan: seats" in text
    assert "Jan 5\u2009\N{EN DASH}\u2009Feb 5, 2026" in text  # Babel's interval: one year written once
    assert "$8.00" in text
    assert "$24.00" in text
    assert "Refunded" in text
