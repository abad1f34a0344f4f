"""Each view renders real data and its empty state; each action changes what the services say it does;
another customer's ids are never reachable."""

import re
import urllib.parse
import uuid
from datetime import timedelta

import pytest

from server import clock, i18n
from server.billing.orders import LineDraft, attempt_payment, create_order
from server.billing.payments import add_payment_method
from server.clock import FrozenClock, use_clock
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import Customer, Order, Organization, PaymentMethod
from server.enums import BillingReason, OrderLineKind, OrderStatus
from server.schemas.portal_settings import dump_portal_settings, load_portal_settings
from server.wallet.service import credit
from tests.integration.portal.conftest import fetch_document

GOOD_CARD = "4242424242424242"
FAILS_WHEN_CHARGED = "4000000000000341"


def bearer(session):
    return {"Authorization": f"Bearer {session}"}


async def _order(org, customer, amount=2500, currency="USD"):
    order = await create_order(
        org.org.id,
        customer.id,
        subscription_id=None,
        billing_reason=BillingReason.PURCHASE,
        currency=currency,
        lines=[LineDraft(kind=OrderLineKind.ONE_TIME, description="Onboarding session", amount=amount)],
    )
    await attempt_payment(org.org.id, order.id)
    return await Order.objects().where(Order.id == order.id).first()


async def _card(org, customer, keyring, number=GOOD_CARD, make_default=True):
    return await add_payment_method(
        org.org.id,
        customer.id,
        keyring=keyring,
        number=number,
        exp_month=12,
        exp_year=clock.now().year + 2,
        cvc="123",
        make_default=make_default,
    )


async def test_wallet_empty_state(client, open_session):
    page = await client.get("/embed/views/wallet", headers=bearer(await open_session()))
    assert page.status_code == 200
    assert "You have no credit yet." in page.text
    assert "No credit activity yet." in page.text


async def test_wallet_shows_balance_history_and_expiring_credit(client, open_session, org, customer):
    await credit(
        org.org.id,
        customer.id,
        1250,
        "USD",
        "promotional",
        "Welcome credit",
        clock.now() + timedelta(days=10),
    )
    await credit(org.org.id, customer.id, 500, "USD", "purchased", "Top-up")
    page = await client.get("/embed/views/wallet", headers=bearer(await open_session()))
    assert "$17.50" in page.text
    assert "Welcome credit" in page.text
    assert "Promotional credit" in page.text
    assert "Expiring soon" in page.text
    assert "$12.50 expires on" in page.text


async def test_money_and_dates_follow_the_customer_locale(client, mint, org):
    german = await create_customer(org.org.id, CustomerCreate(email="jo@example.de", name="Jo", locale="de"))
    await credit(org.org.id, german.id, 1250, "EUR", "promotional", "Willkommen")
    response = await client.post(
        "/embed/session",
        json={"token": mint(customer_id=german.id), "origin": "https://app.example.com"},
    )
    page = await client.get("/embed/views/wallet", headers=bearer(response.json()["session"]))
    assert "12,50\xa0€" in page.text
    assert '<h1 id="ss-heading">Guthaben</h1>' in page.text
    assert "Sie haben noch kein Guthaben." not in page.text
    assert "Verlauf" in page.text


async def test_orders_empty_state(client, open_session):
    page = await client.get("/embed/views/orders", headers=bearer(await open_session()))
    assert "You have no orders yet." in page.text


async def test_orders_list_lines_and_download_the_invoice_through_a_single_use_link(
    client, open_session, org, customer, keyring
):
    await _card(org, customer, keyring)
    order = await _order(org, customer)
    assert order.status == OrderStatus.PAID
    session = await open_session()
    page = await client.get("/embed/views/orders", headers=bearer(session))
    assert order.invoice_number in page.text
    assert "Onboarding session" in page.text
    assert "$25.00" in page.text
    # the view (cached, shared between requests) carries no credential: only where to ask for one
    paths = re.findall(r'href="(/embed/documents/(?:invoice|receipt)/[^"]+)" data-document', page.text)
    assert paths == [f"/embed/documents/invoice/{order.id}", f"/embed/documents/receipt/{order.id}"]
    link, pdf = await fetch_document(client, paths[0], bearer(session))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert order.invoice_number in pdf.headers["content-disposition"]
    _, receipt = await fetch_document(client, paths[1], bearer(session))
    assert receipt.status_code == 200
    tampered = await client.get(link[:-3] + "xyz")
    assert tampered.status_code == 410
    assert "expired" in tampered.text


async def test_a_download_link_works_once(client, open_session, org, customer, keyring):
    await _card(org, customer, keyring)
    order = await _order(org, customer)
    link, first = await fetch_document(
        client, f"/embed/documents/invoice/{order.id}", bearer(await open_session())
    )
    assert first.status_code == 200
    again = await client.get(link)
    assert again.status_code == 410
    assert not again.content.startswith(b"%PDF")


async def test_a_download_link_expires_after_a_minute(client, open_session, org, customer, keyring):
    await _card(org, customer, keyring)
    order = await _order(org, customer)
    session = await open_session()
    with use_clock(FrozenClock(clock.now())) as frozen:
        asked = await client.post(f"/embed/documents/invoice/{order.id}", headers=bearer(session))
        frozen.advance(timedelta(seconds=61))
        late = await client.get(asked.json()["url"])
    assert late.status_code == 410
    assert not late.content.startswith(b"%PDF")


async def test_only_a_session_gets_a_download_link(client, org, customer, keyring):
    await _card(org, customer, keyring)
    order = await _order(org, customer)
    path = f"/embed/documents/invoice/{order.id}"
    assert (await client.post(path)).status_code == 401
    assert (await client.post(path, headers=bearer("made-up"))).status_code == 401


async def test_orders_newest_first_in_pages_past_a_hundred_and_the_overview_shows_the_newest(
    client, open_session, org, customer
):
    numbers = []
    with use_clock(FrozenClock(clock.now() - timedelta(days=200))) as frozen:
        for n in range(125):
            frozen.advance(timedelta(hours=1))
            order = await create_order(
                org.org.id,
                customer.id,
                subscription_id=None,
                billing_reason=BillingReason.PURCHASE,
                currency="USD",
                lines=[LineDraft(kind=OrderLineKind.ONE_TIME, description=f"Item {n}", amount=0)],
            )
            numbers.append(order.invoice_number)
    session = await open_session()
    overview = await client.get("/embed/views/overview", headers=bearer(session))
    recent = re.findall(r"\b[A-Z]+-\d{6}\b", overview.text.split('id="ov-orders"')[1].split("</section>")[0])
    assert recent == numbers[::-1][:3]
    seen, query, pages = [], {}, 0
    while True:
        page = await client.get("/embed/views/orders", params=query, headers=bearer(session))
        assert page.status_code == 200
        pages += 1
        seen += re.findall(r'<h2 id="order-[^"]+"><bdi>([A-Z]+-\d{6})', page.text)
        older = re.search(r'data-query="cursor=([^"]+)"[^>]*>Show older orders', page.text)
        if older is None:
            break
        query = {"cursor": urllib.parse.unquote(older.group(1))}
    assert seen == numbers[::-1]
    assert pages == 7
    assert "Newest orders" in page.text
    mangled = await client.get("/embed/views/orders", params={"cursor": "nonsense"}, headers=bearer(session))
    assert mangled.status_code == 200
    assert numbers[-1] in mangled.text


async def test_failed_order_is_paid_from_the_portal(client, open_session, org, customer, keyring):
    await _card(org, customer, keyring, FAILS_WHEN_CHARGED)
    order = await _order(org, customer)
    assert order.status == OrderStatus.PENDING
    good = await _card(org, customer, keyring, make_default=False)
    assert (await Order.objects().where(Order.id == order.id).first()).status == OrderStatus.PENDING
    session = await open_session()
    page = await client.get("/embed/views/orders", headers=bearer(session))
    assert 'data-action="pay"' in page.text
    paid = await client.post(
        "/embed/views/orders/pay",
        data={"order_id": str(order.id), "payment_method_id": str(good.id)},
        headers=bearer(session),
    )
    assert paid.status_code == 200, paid.text
    assert "the payment went through" in paid.text
    assert '"order.paid"' in paid.headers["x-selfserve-events"]
    row = await Order.objects().where(Order.id == order.id).first()
    assert row.status == OrderStatus.PAID


async def test_a_decline_says_why_in_the_customers_language(client, open_session, org, customer, keyring):
    """The stored reason is ours in English (the API's); the portal says it in German, and a text that is
    not one of ours (a processor's own words) is never shown."""
    declining = await _card(org, customer, keyring, FAILS_WHEN_CHARGED)
    order = await _order(org, customer)
    assert order.last_payment_error == "The card was declined."
    german = {**bearer(await open_session()), "x-selfserve-locale": "de"}
    page = await client.get("/embed/views/orders", headers=german)
    assert "Die letzte Zahlung ist fehlgeschlagen: Die Karte wurde abgelehnt." in page.text
    refused = await client.post(
        "/embed/views/orders/pay",
        data={"order_id": str(order.id), "payment_method_id": str(declining.id)},
        headers=german,
    )
    assert '<p class="ss-msg ss-error">Die Karte wurde abgelehnt.</p>' in refused.text
    await Order.update({Order.last_payment_error: "The card has insufficient funds."}).where(
        Order.id == order.id
    )
    page = await client.get("/embed/views/orders", headers={**german, "x-selfserve-locale": "ja"})
    assert "カードの残高が不足しています。" in page.text
    await Order.update({Order.last_payment_error: "Do not honor (issuer 05)"}).where(Order.id == order.id)
    page = await client.get("/embed/views/orders", headers={**german, "x-selfserve-locale": "fr"})
    assert "La carte a été refusée." in page.text
    assert "issuer 05" not in page.text


async def test_an_expired_card_is_not_offered_to_pay_with(client, open_session, org, customer, keyring):
    """Paying with an expired card can only be declined: the views send the customer to add a card."""
    expired = await _card(org, customer, keyring)
    order = await _order(org, customer)
    await Order.update({Order.status: OrderStatus.PENDING, Order.paid_at: None}).where(Order.id == order.id)
    with use_clock(FrozenClock(clock.now().replace(year=int(expired.exp_year) + 1))):
        session = await open_session()
        orders_page = await client.get("/embed/views/orders", headers=bearer(session))
        settings_page = await client.get("/embed/views/settings", headers=bearer(session))
    assert 'data-action="pay"' not in orders_page.text
    assert "Add a card in Settings" in orders_page.text
    assert "Expired" in settings_page.text


async def test_adding_a_card_in_settings_retries_the_failed_order(
    client, open_session, org, customer, keyring
):
    await _card(org, customer, keyring, FAILS_WHEN_CHARGED)
    order = await _order(org, customer)
    assert order.status == OrderStatus.PENDING
    session = await open_session()
    orders_page = await client.get("/embed/views/orders", headers=bearer(session))
    assert "The last payment failed: The card was declined." in orders_page.text

    def card(number):
        return {
            "number": number,
            "exp_month": "12",
            "exp_year": str(clock.now().year + 3),
            "cvc": "123",
            "make_default": "on",
        }

    declined = await client.post(
        "/embed/views/settings/add_card", data=card("4000 0000 0000 0341"), headers=bearer(session)
    )
    assert declined.status_code == 200, declined.text
    assert (
        '<p class="ss-msg ss-error">Card added. The payment of $25.00 still failed: The card was declined.'
        in (declined.text)
    )
    response = await client.post(
        "/embed/views/settings/add_card", data=card(GOOD_CARD), headers=bearer(session)
    )
    assert response.status_code == 200, response.text
    assert '<p class="ss-msg">Card added. 1 unpaid invoice was paid with it.</p>' in response.text
    assert "•••• 4242" in response.text
    row = await Order.objects().where(Order.id == order.id).first()
    assert row.status == OrderStatus.PAID


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"number": "4242424242424241", "exp_month": "12", "exp_year": "2099", "cvc": "123"}, 422),
        ({"number": "4000000000000002", "exp_month": "12", "exp_year": "2099", "cvc": "123"}, 402),
        ({"number": GOOD_CARD, "exp_month": "ab", "exp_year": "2099", "cvc": "123"}, 422),
        ({"number": GOOD_CARD, "exp_month": "01", "exp_year": "2001", "cvc": "123"}, 422),
    ],
)
async def test_bad_cards_are_explained_and_nothing_is_saved(client, open_session, customer, form, status):
    response = await client.post(
        "/embed/views/settings/add_card", data=form, headers=bearer(await open_session())
    )
    assert response.status_code == status
    assert "ss-error" in response.text
    assert await PaymentMethod.count().where(PaymentMethod.customer == customer.id) == 0


async def test_default_and_removal_of_cards(client, open_session, org, customer, keyring):
    first = await _card(org, customer, keyring)
    second = await _card(org, customer, keyring, "5555555555554444")
    session = await open_session()
    page = await client.get("/embed/views/settings", headers=bearer(session))
    assert "•••• 4444" in page.text
    assert "data-confirm=" in page.text
    made = await client.post(
        "/embed/views/settings/make_default",
        data={"payment_method_id": str(first.id)},
        headers=bearer(session),
    )
    assert made.status_code == 200
    assert (await PaymentMethod.objects().where(PaymentMethod.id == first.id).first()).is_default
    removed = await client.post(
        "/embed/views/settings/remove_card",
        data={"payment_method_id": str(second.id)},
        headers=bearer(session),
    )
    assert removed.status_code == 200
    assert await PaymentMethod.count().where(PaymentMethod.customer == customer.id) == 1


async def test_another_customers_ids_are_not_found(client, open_session, org, customer, keyring):
    other = await create_customer(org.org.id, CustomerCreate(email="other@example.com"))
    other_card = await _card(org, other, keyring)
    await _card(org, other, keyring, FAILS_WHEN_CHARGED)
    other_order = await _order(org, other)
    session = await open_session()
    attempts = [
        ("orders/pay", {"order_id": str(other_order.id), "payment_method_id": str(other_card.id)}),
        ("settings/make_default", {"payment_method_id": str(other_card.id)}),
        ("settings/remove_card", {"payment_method_id": str(other_card.id)}),
    ]
    for path, form in attempts:
        response = await client.post(f"/embed/views/{path}", data=form, headers=bearer(session))
        assert response.status_code == 404, path
    assert await PaymentMethod.count().where(PaymentMethod.customer == other.id) == 2
    assert (await Customer.objects().where(Customer.id == other.id).first()) is not None


async def test_update_payment_method_deep_link_opens_the_card_form(
    client, open_session, org, customer, keyring
):
    await _card(org, customer, keyring)
    session = await open_session()
    plain = await client.get("/embed/views/settings", headers=bearer(session))
    assert '<details id="add-card">' in plain.text
    linked = await client.get(
        "/embed/views/settings", params={"action": "update_payment_method"}, headers=bearer(session)
    )
    assert '<details id="add-card" open>' in linked.text


async def test_the_merchant_logo_shows_on_the_overview(client, open_session, org):
    settings = load_portal_settings(org.org)
    settings.branding.logo_url = "https://cdn.example.com/acme.png"
    branding, rest = dump_portal_settings(settings)
    await Organization.update({Organization.branding: branding, Organization.portal_settings: rest}).where(
        Organization.id == org.org.id
    )
    page = await client.get("/embed/views/overview", headers=bearer(await open_session()))
    assert '<img src="https://cdn.example.com/acme.png" alt="" class="ss-logo">' in page.text


async def test_a_failed_action_never_shows_a_developers_english(client, open_session):
    """A service's English text for developers ("no subscription <id>") becomes a message for that kind of
    error in the customer's language; words written for the customer (through ``_``) are shown as they are."""
    japanese = {**bearer(await open_session()), "x-selfserve-locale": "ja"}
    unknown = str(uuid.uuid4())
    refused = await client.post(
        "/embed/views/subscriptions/cancel", data={"subscription_id": unknown}, headers=japanese
    )
    assert refused.status_code == 404
    assert "対象が見つかりませんでした。ページを再読み込みして、もう一度お試しください。" in refused.text
    assert unknown not in refused.text
    with i18n.use_locale("ja"):
        chosen = i18n.gettext("Please choose a subscription.")
    assert chosen != "Please choose a subscription."
    unreadable = await client.post(
        "/embed/views/subscriptions/cancel", data={"subscription_id": "abc"}, headers=japanese
    )
    assert f'<p class="ss-msg ss-error">{chosen}</p>' in unreadable.text
