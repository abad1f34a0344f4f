"""The overview: welcome, subscriptions, recent orders, balance, and every benefit type working."""

import re

from server import clock
from server.benefits.files import store_file
from server.billing.payments import add_payment_method
from server.catalog.schemas import BenefitCreate, BenefitProperties, PriceCreate, ProductCreate
from server.catalog.service import create_benefit, create_product, product_views
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import BenefitGrant, Organization
from server.enums import BenefitType, Interval, PriceKind
from server.portal.documents import document_link
from server.schemas.portal_settings import dump_portal_settings, load_portal_settings
from server.subscriptions.service import create_subscription
from tests.integration.portal.conftest import fetch_document


def bearer(session):
    return {"Authorization": f"Bearer {session}"}


async def _file(org, content=b"%PDF-1.4 handbook"):
    return await store_file(org.org.id, name="Handbook v2.pdf", mime_type="application/pdf", content=content)


async def _subscribe_with_benefits(org, customer, keyring):
    stored = await _file(org)
    benefits = [
        BenefitCreate(
            type=BenefitType.LICENSE_KEY,
            description="Pro license",
            properties=BenefitProperties(prefix="PRO"),
        ),
        BenefitCreate(
            type=BenefitType.DISCORD,
            description="Community",
            properties=BenefitProperties(invite_url="https://discord.gg/acme"),
        ),
        BenefitCreate(
            type=BenefitType.DOWNLOADABLE,
            description="Handbook",
            properties=BenefitProperties(file_ids=[stored.id]),
        ),
        BenefitCreate(
            type=BenefitType.API_KEY, description="API access", properties=BenefitProperties(prefix="acme")
        ),
        BenefitCreate(
            type=BenefitType.CUSTOM,
            description="Onboarding call",
            properties=BenefitProperties(instructions="Book a call with us.", url="https://acme.test/book"),
        ),
    ]
    benefit_ids = [(await create_benefit(org.org.id, b)).id for b in benefits]
    product = await create_product(
        org.org.id,
        ProductCreate(
            name="Pro",
            prices=[PriceCreate(kind=PriceKind.FIXED, interval=Interval.MONTH, currency="USD", amount=2000)],
            benefit_ids=benefit_ids,
        ),
    )
    [view] = await product_views(org.org.id, [product])
    await add_payment_method(
        org.org.id,
        customer.id,
        keyring=keyring,
        number="4242424242424242",
        exp_month=12,
        exp_year=clock.now().year + 2,
        cvc="123",
    )
    await create_subscription(org.org.id, customer.id, view.prices[0].id)
    return stored


async def test_empty_customer_sees_friendly_empty_states(client, open_session):
    page = await client.get("/embed/views/overview", headers=bearer(await open_session()))
    assert page.status_code == 200
    assert "You have no active subscriptions." in page.text
    assert "You have no orders yet." in page.text
    assert "No benefits yet." in page.text


async def test_overview_shows_welcome_subscription_order_and_every_benefit(
    client, open_session, org, customer, keyring
):
    settings = load_portal_settings(org.org)
    settings.welcome_message = "Thanks for building with Acme."
    branding, rest = dump_portal_settings(settings)
    await Organization.update({Organization.branding: branding, Organization.portal_settings: rest}).where(
        Organization.id == org.org.id
    )
    await _subscribe_with_benefits(org, customer, keyring)
    session = await open_session()
    page = await client.get("/embed/views/overview", headers=bearer(session))
    text = page.text
    assert "Hello Ada Lovelace!" in text
    # isolated: written in the merchant's language, it keeps its own direction on a right-to-left page
    assert "<bdi>Thanks for building with Acme.</bdi>" in text
    assert "<strong>Pro</strong>" in text
    assert "renews" in text
    assert "$20.00" in text
    assert re.search(r"<code>PRO-[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}</code>", text)
    assert 'href="https://discord.gg/acme"' in text
    assert "Book a call with us." in text
    download = re.search(r'href="(/embed/documents/file/[^"]+)" data-document download>Handbook v2.pdf', text)
    assert download
    _, file_response = await fetch_document(client, download.group(1), bearer(session))
    assert file_response.status_code == 200
    assert file_response.content == b"%PDF-1.4 handbook"
    assert 'filename="Handbook_v2.pdf"' in file_response.headers["content-disposition"]
    grant_id = re.search(r'name="grant_id" value="([^"]+)"', text).group(1)
    regenerated = await client.post(
        "/embed/views/overview/regenerate_api_key", data={"grant_id": grant_id}, headers=bearer(session)
    )
    assert regenerated.status_code == 200
    key = re.search(r"<code>(acme_[^<]+)</code>", regenerated.text).group(1)
    assert f"Key ending in {key[-4:]}" in regenerated.text
    again = await client.get("/embed/views/overview", headers=bearer(session))
    assert key not in again.text


async def test_a_file_link_for_someone_without_the_benefit_is_refused(client, org, customer, keyring):
    stored = await _subscribe_with_benefits(org, customer, keyring)
    stranger = await create_customer(org.org.id, CustomerCreate(email="stranger@example.com"))
    url = document_link(keyring, org.org.id, stranger.id, stored.id, "file")
    response = await client.get(url)
    assert response.status_code == 404
    assert b"handbook" not in response.content


async def test_another_customers_api_key_cannot_be_regenerated(client, open_session, org, customer, keyring):
    stranger = await create_customer(org.org.id, CustomerCreate(email="owner@example.com", name="Owner"))
    await _subscribe_with_benefits(org, stranger, keyring)
    grant = await BenefitGrant.objects().where(BenefitGrant.customer == stranger.id).first()
    response = await client.post(
        "/embed/views/overview/regenerate_api_key",
        data={"grant_id": str(grant.id)},
        headers=bearer(await open_session()),
    )
    assert response.status_code == 404
    after = await BenefitGrant.objects().where(BenefitGrant.id == grant.id).first()
    assert after.secret_hash == grant.secret_hash
