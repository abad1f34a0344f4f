"""A promotion code in the portal's change-plan flow over HTTP: the preview counts it before confirming, the
confirmation redeems it, and a code that cannot be used says why in the customer's language."""

import html
import re

from server import clock
from server.billing.schemas import current_discount
from server.clock import FrozenClock, use_clock
from server.db.tables import Order, OrderLine, Subscription
from server.discounts import service as discounts
from server.subscriptions import service as subscriptions
from tests.integration.portal.test_subscriptions_view import _plans, _subscribed, bearer


async def test_a_promotion_code_is_previewed_then_redeemed_with_the_plan_change(
    client, open_session, org, customer, keyring
):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Starter"])
    coupon = await discounts.create_coupon(
        org.org.id, name="Half off", percent_off=50, duration="repeating", duration_periods=3
    )
    await discounts.create_promotion_code(org.org.id, coupon.id, code="HALF")
    session = await open_session()
    flow = {"action": "change_plan", "subscription_id": str(sub.id)}

    page = await client.get(
        "/embed/views/subscriptions", params={**flow, "promotion_code": "half"}, headers=bearer(session)
    )
    text = html.unescape(page.text)
    assert "Half off: 50% off your next 3 invoices." in text
    assert "Discount today: -$" in text
    assert 'name="promotion_code" value="half"' in text

    done = await client.post(
        "/embed/views/subscriptions/change_plan",
        data={"subscription_id": str(sub.id), "price_id": plans["Pro"], "promotion_code": "half"},
        headers=bearer(session),
    )
    assert done.status_code == 200, done.text
    row = await Subscription.objects().where(Subscription.id == sub.id).first()
    assert current_discount(row.discount).promotion_code == "HALF"
    order = (
        await Order.objects()
        .where(Order.subscription == sub.id)
        .order_by(Order.created_at, ascending=False)
        .first()
    )
    lines = (
        await OrderLine.select(OrderLine.kind, OrderLine.description, OrderLine.amount)
        .where(OrderLine.order == order.id)
        .order_by(OrderLine.position)
    )
    assert [(line["kind"], line["description"]) for line in lines][1:] == [("discount", "Half off")]
    proration = lines[0]["amount"]
    assert lines[0]["kind"] == "proration"
    assert lines[1]["amount"] == -((proration + 1) // 2)  # half of it, rounded half up

    shown = await client.get("/embed/views/subscriptions", headers=bearer(session))
    assert re.search(
        r"<dd data-discount>Half off: 50% off your next 3 invoices\.</dd>", html.unescape(shown.text)
    )

    again = await client.get(
        "/embed/views/subscriptions", params={**flow, "promotion_code": "HALF"}, headers=bearer(session)
    )
    assert "You have already used this code." in html.unescape(again.text)


async def test_a_wrong_code_is_explained_in_the_customers_language(
    client, open_session, org, customer, keyring
):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Starter"])
    session = await open_session()
    params = {"action": "change_plan", "subscription_id": str(sub.id), "promotion_code": "NOPE"}
    english = await client.get("/embed/views/subscriptions", params=params, headers=bearer(session))
    assert "We do not know this code. Please check it and try again." in html.unescape(english.text)
    assert "Switch to Pro" in english.text  # the plans stay, without a discount
    german = await client.get(
        "/embed/views/subscriptions", params=params, headers={**bearer(session), "x-selfserve-locale": "de"}
    )
    assert "Diesen Code kennen wir nicht." in html.unescape(german.text)
    refused = await client.post(
        "/embed/views/subscriptions/change_plan",
        data={"subscription_id": str(sub.id), "price_id": plans["Pro"], "promotion_code": "NOPE"},
        headers={**bearer(session), "x-selfserve-locale": "de"},
    )
    assert "Diesen Code kennen wir nicht." in html.unescape(refused.text)
    row = await Subscription.objects().where(Subscription.id == sub.id).first()
    assert str(row.price) == plans["Starter"]


async def test_a_seat_change_preview_shows_the_running_discount(client, open_session, org, customer, keyring):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Team"], seats=2)
    coupon = await discounts.create_coupon(org.org.id, name="Crew", percent_off=20, duration="forever")
    await subscriptions.apply_discount(org.org.id, sub.id, coupon_id=coupon.id)
    session = await open_session()
    with use_clock(FrozenClock(clock.now())):  # the page and the check price the same moment
        page = await client.get(
            "/embed/views/subscriptions",
            params={"action": "change_seats", "subscription_id": str(sub.id), "seats": "4"},
            headers=bearer(session),
        )
        preview = await subscriptions.preview_seat_change(org.org.id, sub.id, 4)
    [line] = preview.discount_lines
    assert f"Crew: Discount today: -${-line.amount / 100:.2f}." in html.unescape(page.text)
