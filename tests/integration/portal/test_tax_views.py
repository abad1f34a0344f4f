"""The portal shows tax as the services computed it: the next-invoice preview and the orders view carry the
same per-rate lines and totals as the API's order."""

import html
import io
import uuid

import pytest
from pypdf import PdfReader

from server.billing.payments import add_payment_method
from server.catalog.schemas import PriceCreate, ProductCreate
from server.catalog.service import create_product, product_views
from server.customers.schemas import Address, CustomerCreate
from server.customers.service import create_customer
from server.db.tables import Customer, Organization
from server.enums import Interval, PriceKind
from server.schemas.portal_settings import dump_portal_settings, load_portal_settings
from server.subscriptions.service import create_subscription
from server.tax import service as tax
from server.tax import tax_ids
from tests.integration.portal.conftest import fetch_document


def bearer(session):
    return {"Authorization": f"Bearer {session}"}


@pytest.fixture
async def german_customer(org, keyring):
    await tax.add_registration(org.org.id, country="DE", tax_number="DE136695976")
    await tax.create_rate(org.org.id, country="DE", percentage="19", name="MwSt.")
    customer = await create_customer(
        org.org.id,
        CustomerCreate(
            email=f"kurt-{uuid.uuid4().hex[:6]}@example.com",
            name="Kurt",
            billing_address=Address(country="DE", city="Berlin"),
            locale="de",
        ),
    )
    await add_payment_method(
        org.org.id,
        customer.id,
        keyring=keyring,
        number="4242424242424242",
        exp_month=12,
        exp_year=2035,
        cvc="123",
    )
    product = await create_product(
        org.org.id,
        ProductCreate(
            name="Pro",
            prices=[PriceCreate(kind=PriceKind.FIXED, interval=Interval.MONTH, currency="EUR", amount=1000)],
        ),
    )
    price_id = (await product_views(org.org.id, [product]))[0].prices[0].id
    await create_subscription(org.org.id, customer.id, uuid.UUID(price_id))
    return customer


async def _view(client, mint, customer, name):
    token = mint(customer_id=customer.id)
    opened = await client.post("/embed/session", json={"token": token, "origin": "https://app.example.com"})
    assert opened.status_code == 201, opened.text
    page = await client.get(f"/embed/views/{name}", headers=bearer(opened.json()["session"]))
    assert page.status_code == 200, page.text
    return html.unescape(page.text).replace("\xa0", " ")


async def test_next_invoice_preview_and_order_show_19_percent(client, mint, german_customer):
    subscriptions_view = await _view(client, mint, german_customer, "subscriptions")
    assert "Zwischensumme (netto)" in subscriptions_view
    assert "MwSt. 19 % · auf 10,00 €" in subscriptions_view
    assert "1,90 €" in subscriptions_view
    assert "11,90 €" in subscriptions_view
    orders_view = await _view(client, mint, german_customer, "orders")
    assert "MwSt. 19 % · auf 10,00 €" in orders_view
    assert "11,90 €" in orders_view


async def _session(client, mint, customer):
    token = mint(customer_id=customer.id)
    opened = await client.post("/embed/session", json={"token": token, "origin": "https://app.example.com"})
    return bearer(opened.json()["session"])


async def test_a_french_business_enters_its_vat_id_and_the_preview_becomes_reverse_charge(
    client, mint, german_customer
):
    headers = await _session(client, mint, german_customer)
    form = {"tax_id_type": "eu_vat", "country": "FR", "company_name": "Exemple SA"}
    refused = await client.post(
        "/embed/views/settings/update_billing", data={**form, "tax_id": "FR40303265046"}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert "Diese Steuernummer ist für den gewählten Typ nicht gültig" in html.unescape(refused.text)
    # the refused form comes back as it was filled in: type chosen, number and company typed
    assert '<option value="eu_vat" selected>' in refused.text
    assert 'value="FR40303265046"' in refused.text
    assert 'value="Exemple SA"' in refused.text
    assert '<option value="FR" selected>' in refused.text
    saved = await client.post(
        "/embed/views/settings/update_billing", data={**form, "tax_id": "FR 40303265045"}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    settings_view = await _view(client, mint, german_customer, "settings")
    assert 'value="FR40303265045"' in settings_view
    assert '<option value="eu_vat" selected>' in settings_view
    preview = await _view(client, mint, german_customer, "subscriptions")
    assert "Steuerschuldnerschaft des Leistungsempfängers 0 % · auf 10,00 €" in preview
    assert "Sie schulden die Umsatzsteuer auf diese Rechnung" in preview


async def test_a_refund_shows_its_credit_note_in_the_orders_view(client, mint, org, german_customer):
    from server.billing import orders

    order = (await orders.list_orders(org.org.id, customer_id=german_customer.id)).items[0]
    await orders.refund_order(org.org.id, order.id, 595, "payment_method")
    orders_view = await _view(client, mint, german_customer, "orders")
    assert "Gutschrift INV-CN-000001 vom" in orders_view
    assert ": 5,95 €" in orders_view
    # its PDF, through the same single-use link as the invoice's, in the customer's language
    [note] = await orders.list_credit_notes(org.org.id, order.id)
    path = f"/embed/documents/credit_note/{note.id}"
    assert f'href="{path}" data-document download>Gutschrift herunterladen (PDF)' in orders_view
    headers = await _session(client, mint, german_customer)
    link, pdf = await fetch_document(client, path, headers)
    assert pdf.status_code == 200, pdf.text
    assert 'filename="credit-note-INV-CN-000001.pdf"' in pdf.headers["content-disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "Gutschrift",
        "Gutschriftsnummer: INV-CN-000001",
        f"Zur Rechnung: {order.invoice_number} vom",
        "Erstattung (netto) -5,00 €",
        "MwSt. 19\xa0% auf -5,00 € -0,95 €",  # Babel keeps the percent sign on its number
        "Gutgeschrieben insgesamt -5,95 €",
    ):
        assert expected in text, (expected, text)
    assert (await client.get(link)).status_code == 410  # burned on first use


async def test_a_credit_note_link_is_only_for_the_customer_it_was_issued_to(
    client, mint, org, keyring, german_customer
):
    from server.billing import orders

    order = (await orders.list_orders(org.org.id, customer_id=german_customer.id)).items[0]
    await orders.refund_order(org.org.id, order.id, 100, "payment_method")
    [note] = await orders.list_credit_notes(org.org.id, order.id)
    someone_else = await create_customer(
        org.org.id, CustomerCreate(email=f"other-{uuid.uuid4().hex[:6]}@example.com")
    )
    _, refused = await fetch_document(
        client, f"/embed/documents/credit_note/{note.id}", await _session(client, mint, someone_else)
    )
    assert refused.status_code == 404
    assert not refused.content.startswith(b"%PDF")


async def _ask_vies(org):
    settings = load_portal_settings(await Organization.objects().where(Organization.id == org.org.id).first())
    settings.features.vies_check = True
    branding, portal = dump_portal_settings(settings)
    await Organization.update({Organization.branding: branding, Organization.portal_settings: portal}).where(
        Organization.id == org.org.id
    )


def _vies(httpserver, monkeypatch, answer, status=200):
    """A stand-in for the EU's VIES REST API on a local port, answering as VIES does."""
    monkeypatch.setattr(tax_ids, "VIES_URL", httpserver.url_for("/check-vat-number"))
    httpserver.expect_request(
        "/check-vat-number", method="POST", json={"countryCode": "FR", "vatNumber": "40303265045"}
    ).respond_with_json(answer, status=status)


VIES_ANSWER = {
    "countryCode": "FR",
    "vatNumber": "40303265045",
    "requestDate": "2026-12-05T09:00:00.000Z",
    "requestIdentifier": "",
    "name": "EXEMPLE SA",
    "address": "1 RUE DE LA PAIX 75002 PARIS",
}
FRENCH_BUSINESS = {
    "tax_id_type": "eu_vat",
    "tax_id": "FR 40303265045",
    "country": "FR",
    "company_name": "Exemple SA",
}


async def test_vies_is_not_asked_unless_the_merchant_turns_it_on(
    client, mint, german_customer, httpserver, monkeypatch
):
    _vies(httpserver, monkeypatch, {**VIES_ANSWER, "valid": False})
    saved = await client.post(
        "/embed/views/settings/update_billing",
        data=FRENCH_BUSINESS,
        headers=await _session(client, mint, german_customer),
    )
    assert saved.status_code == 200, saved.text
    assert "Rechnungsdaten gespeichert." in html.unescape(saved.text)
    assert httpserver.log == []


async def test_vies_confirms_a_registered_vat_number(
    client, mint, org, german_customer, httpserver, monkeypatch
):
    await _ask_vies(org)
    _vies(httpserver, monkeypatch, {**VIES_ANSWER, "valid": True})
    saved = await client.post(
        "/embed/views/settings/update_billing",
        data=FRENCH_BUSINESS,
        headers=await _session(client, mint, german_customer),
    )
    assert saved.status_code == 200, saved.text
    text = html.unescape(saved.text)
    assert "Rechnungsdaten gespeichert." in text
    assert "nicht erreichbar" not in text
    assert len(httpserver.log) == 1
    preview = await _view(client, mint, german_customer, "subscriptions")
    assert "Steuerschuldnerschaft des Leistungsempfängers 0 %" in preview


async def test_vies_refuses_a_number_it_does_not_list(
    client, mint, org, german_customer, httpserver, monkeypatch
):
    await _ask_vies(org)
    _vies(httpserver, monkeypatch, {**VIES_ANSWER, "valid": False})
    refused = await client.post(
        "/embed/views/settings/update_billing",
        data=FRENCH_BUSINESS,
        headers=await _session(client, mint, german_customer),
    )
    assert refused.status_code == 422, refused.text
    assert (
        "VIES, das EU-Verzeichnis der Umsatzsteuer-Identifikationsnummern, kennt diese Nummer nicht"
        in html.unescape(refused.text)
    )
    assert 'value="FR 40303265045"' in refused.text  # the form keeps what was typed
    stored = await Customer.objects().where(Customer.id == german_customer.id).first()
    assert stored.tax_id == ""


@pytest.mark.parametrize(
    "answer",
    [
        ({"actionSucceed": False, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]}, 200),
        ({"error": "SERVICE_UNAVAILABLE"}, 503),
    ],
)
async def test_vies_down_keeps_the_format_check_and_says_so(
    client, mint, org, german_customer, httpserver, monkeypatch, answer
):
    await _ask_vies(org)
    _vies(httpserver, monkeypatch, answer[0], status=answer[1])
    saved = await client.post(
        "/embed/views/settings/update_billing",
        data=FRENCH_BUSINESS,
        headers=await _session(client, mint, german_customer),
    )
    assert saved.status_code == 200, saved.text
    assert (
        "Rechnungsdaten gespeichert. VIES, das EU-Verzeichnis der Umsatzsteuer-Identifikationsnummern, "
        "war nicht erreichbar: Ihre USt-IdNr. wurde nur auf ihr Format geprüft."
    ) in html.unescape(saved.text)
    stored = await Customer.objects().where(Customer.id == german_customer.id).first()
    assert (stored.tax_id, stored.tax_id_type) == ("FR40303265045", "eu_vat")


async def test_vies_unreachable_never_blocks_the_customer(client, mint, org, german_customer, monkeypatch):
    await _ask_vies(org)
    monkeypatch.setattr(tax_ids, "VIES_URL", "http://127.0.0.1:9/check-vat-number")  # nothing listens there
    saved = await client.post(
        "/embed/views/settings/update_billing",
        data=FRENCH_BUSINESS,
        headers=await _session(client, mint, german_customer),
    )
    assert saved.status_code == 200, saved.text
    assert "wurde nur auf ihr Format geprüft" in html.unescape(saved.text)
