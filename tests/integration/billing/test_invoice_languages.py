"""Invoice, receipt and credit-note PDFs in the customer's language, read back with pypdf: labels from the
catalogs, money and dates as the locale writes them, Japanese and Arabic names in the embedded fonts."""

from datetime import UTC, datetime

from server.billing import orders
from server.clock import FrozenClock, use_clock
from server.db.tables import Customer
from tests.integration.billing.test_invoices import customer, merchant, text_of  # noqa: F401
from tests.integration.billing.test_orders import add_card, make_customer, new_order

ISSUED = datetime(2026, 3, 4, 9, tzinfo=UTC)


async def _issued(merchant_id, customer_id, *amounts, currency):
    with use_clock(FrozenClock(ISSUED)):
        order = await new_order(merchant_id, customer_id, *amounts, currency=currency)
        return order, text_of(await orders.invoice_pdf(merchant_id, order.id))


async def test_a_japanese_invoice_reads_back_in_japanese(merchant):  # noqa: F811
    buyer = await make_customer(
        merchant, locale="ja", billing_name="山田 太郎", company_name="株式会社さくら商事"
    )
    order, text = await _issued(merchant, buyer.id, 1500, 500, currency="JPY")
    for expected in (
        "請求書",
        f"請求書番号: {order.invoice_number}",
        "発行日: 2026/03/04",
        "発行元",
        "請求先",
        "山田 太郎",
        "株式会社さくら商事",
        "内容",
        "単価",
        "¥2,000",
        "合計",
        "お支払い金額",
    ):
        assert expected in text, (expected, text)
    assert "Invoice" not in text
    assert "Bill to" not in text


async def test_an_arabic_invoice_reads_back_in_arabic(merchant):  # noqa: F811
    buyer = await make_customer(merchant, locale="ar", billing_name="محمد أحمد", company_name="شركة النخيل")
    order, text = await _issued(merchant, buyer.id, 2500, currency="EUR")
    # pypdf reads a line in the order its runs are placed: right to left, the number stands left of its label
    for expected in (
        "فاتورة",
        f"{order.invoice_number} :رقم الفاتورة",
        ":تاريخ الإصدار",
        "فاتورة إلى",
        "محمد أحمد",
        "شركة النخيل",
        "الوصف",
        "الإجمالي",
        "المبلغ المستحق",
    ):
        assert expected in text, (expected, text)
    assert "Invoice" not in text
    assert "Date of issue" not in text


async def test_a_german_invoice_and_receipt_write_german_numbers_and_dates(merchant, customer, keyring):  # noqa: F811
    await Customer.update({Customer.locale: "de"}).where(Customer.id == customer.id)
    await add_card(keyring, merchant, customer.id)
    order, _ = await _issued(merchant, customer.id, 123456, 100, currency="EUR")
    with use_clock(FrozenClock(ISSUED)):
        assert await orders.attempt_payment(merchant, order.id)
        await orders.refund_order(merchant, order.id, 50050, "payment_method")
    invoice = text_of(await orders.invoice_pdf(merchant, order.id))
    for expected in (
        "Rechnung",
        f"Rechnungsnummer: {order.invoice_number}",
        "Ausstellungsdatum: 04.03.2026",
        "Rechnungsempfänger",
        "USt-IdNr.: DE123456789",
        "1.234,56 €",
        "1.235,56 €",
        "Summe",
    ):
        assert expected in invoice, (expected, invoice)
    receipt = text_of(await orders.receipt_pdf(merchant, order.id, customer_id=customer.id))
    for expected in (
        "Zahlungsbeleg",
        f"Zahlungsbeleg zur Rechnung: {order.invoice_number}",
        "Bezahlt am: 04.03.2026",
        "Am 04.03.2026 auf Ihre Karte erstattet -500,50 €",
        "Insgesamt erstattet 500,50 €",
        "Verbleibender Betrag nach Erstattungen 735,06 €",
    ):
        assert expected in receipt, (expected, receipt)


async def test_a_japanese_name_prints_on_an_english_invoice(merchant):  # noqa: F811
    buyer = await make_customer(merchant, locale="en", billing_name="佐藤 花子", company_name="Sakura KK")
    order, text = await _issued(merchant, buyer.id, 1200, currency="USD")
    for expected in ("Invoice", f"Invoice number: {order.invoice_number}", "Bill to", "佐藤 花子", "$12.00"):
        assert expected in text, (expected, text)
