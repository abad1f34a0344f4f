"""The subscriptions view: details, next invoice, and each flow end to end over HTTP."""

import re
from datetime import timedelta

from server import clock
from server.billing.payments import add_payment_method
from server.catalog.schemas import PriceCreate, ProductCreate
from server.catalog.service import create_product, product_views
from server.clock import FrozenClock, use_clock
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import (
    EmailMessage,
    Order,
    Organization,
    PaymentMethod,
    Refund,
    Seat,
    Subscription,
    WebhookEvent,
)
from server.enums import Interval, PriceKind, SeatStatus, SubscriptionStatus
from server.mail.queue import read_content
from server.schemas.portal_settings import dump_portal_settings, load_portal_settings
from server.subscriptions.service import create_subscription
from server.wallet.service import credit


def bearer(session):
    return {"Authorization": f"Bearer {session}"}


async def _plans(org):
    made = {}
    for name, price in [
        ("Starter", PriceCreate(kind=PriceKind.FIXED, interval=Interval.MONTH, currency="USD", amount=1000)),
        ("Pro", PriceCreate(kind=PriceKind.FIXED, interval=Interval.MONTH, currency="USD", amount=2000)),
        (
            "Team",
            PriceCreate(
                kind=PriceKind.PER_SEAT, interval=Interval.MONTH, currency="USD", seat_amount=500, max_seats=5
            ),
        ),
    ]:
        product = await create_product(org.org.id, ProductCreate(name=name, prices=[price]))
        [view] = await product_views(org.org.id, [product])
        made[name] = view.prices[0].id
    return made


async def _subscribed(org, customer, keyring, plan_price, seats=1):
    await add_payment_method(
        org.org.id,
        customer.id,
        keyring=keyring,
        number="4242424242424242",
        exp_month=12,
        exp_year=clock.now().year + 2,
        cvc="123",
    )
    return await create_subscription(org.org.id, customer.id, plan_price, seats=seats)


async def test_empty_state(client, open_session):
    page = await client.get("/embed/views/subscriptions", headers=bearer(await open_session()))
    assert page.status_code == 200
    assert "You have no subscriptions." in page.text


async def test_details_and_next_invoice(client, open_session, org, customer, keyring):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Starter"])
    page = await client.get("/embed/views/subscriptions", headers=bearer(await open_session()))
    assert "Starter" in page.text
    assert "$10.00 per month" in page.text
    assert "Next charge" in page.text
    assert "Next invoice preview" in page.text
    assert f'data-query="action=cancel&amp;subscription_id={sub.id}"' in page.text


async def test_cancel_flow_review_then_confirm_at_period_end(client, open_session, org, customer, keyring):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Starter"])
    session = await open_session()
    choose = await client.get(
        "/embed/views/subscriptions",
        params={"action": "cancel", "subscription_id": str(sub.id)},
        headers=bearer(session),
    )
    assert "When should it end?" in choose.text
    assert "Too expensive" in choose.text or "too expensive" in choose.text.lower()
    review = await client.get(
        "/embed/views/subscriptions",
        params={
            "action": "cancel",
            "subscription_id": str(sub.id),
            "step": "review",
            "when": "period_end",
            "reason": "too_expensive",
            "comment": "Moving to annual",
        },
        headers=bearer(session),
    )
    assert "What will happen" in review.text
    assert "You will not be charged again." in review.text
    assert "Confirm cancellation" in review.text
    done = await client.post(
        "/embed/views/subscriptions/cancel",
        data={
            "subscription_id": str(sub.id),
            "when": "period_end",
            "reason": "too_expensive",
            "comment": "Moving to annual",
        },
        headers=bearer(session),
    )
    assert done.status_code == 200, done.text
    assert "Your subscription will end on" in done.text
    assert '"subscription.canceled"' in done.headers["x-selfserve-events"]
    row = await Subscription.objects().where(Subscription.id == sub.id).first()
    assert row.cancel_at_period_end
    assert (row.cancellation_reason, row.cancellation_comment) == ("too_expensive", "Moving to annual")
    assert "Keep my subscription" in done.text
    undo = await client.post(
        "/embed/views/subscriptions/uncancel", data={"subscription_id": str(sub.id)}, headers=bearer(session)
    )
    assert undo.status_code == 200
    assert not (await Subscription.objects().where(Subscription.id == sub.id).first()).cancel_at_period_end
    types = [
        r["type"] for r in await WebhookEvent.select(WebhookEvent.type).where(WebhookEvent.org == org.org.id)
    ]
    assert types.count("subscription.canceled") == 1
    assert types.count("subscription.uncanceled") == 1


async def test_immediate_cancel_review_shows_the_refund_the_cancel_then_makes(
    client, open_session, org, customer, keyring
):
    """Wallet credit paid 12.00 of the 20.00 period, the card 8.00: the card gets back at most 8.00, and the
    review says exactly what the cancel then refunds."""
    settings = load_portal_settings(org.org)
    settings.features.immediate_cancel = True
    branding, rest = dump_portal_settings(settings)
    await Organization.update({Organization.branding: branding, Organization.portal_settings: rest}).where(
        Organization.id == org.org.id
    )
    plans = await _plans(org)
    await credit(org.org.id, customer.id, 1200, "USD", "promotional", "Welcome")
    with use_clock(FrozenClock(clock.now())) as frozen:
        sub = await _subscribed(org, customer, keyring, plans["Pro"])
        frozen.advance(timedelta(days=9, hours=7))
        session = await open_session()
        review = await client.get(
            "/embed/views/subscriptions",
            params={"action": "cancel", "subscription_id": str(sub.id), "step": "review", "when": "now"},
            headers=bearer(session),
        )
        assert "ends now" in review.text
        shown = re.search(r"\$(\d+\.\d\d) for the unused time goes back to your card", review.text)
        assert shown is not None, review.text
        done = await client.post(
            "/embed/views/subscriptions/cancel",
            data={"subscription_id": str(sub.id), "when": "now"},
            headers=bearer(session),
        )
    assert done.status_code == 200, done.text
    refunds = await Refund.select(Refund.amount, Refund.destination).where(Refund.customer == customer.id)
    assert [(r["amount"], r["destination"]) for r in refunds] == [(800, "payment_method")]
    assert shown.group(1) == "8.00"


async def test_change_plan_shows_previews_and_switches(client, open_session, org, customer, keyring):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Starter"])
    session = await open_session()
    page = await client.get(
        "/embed/views/subscriptions",
        params={"action": "change_plan", "subscription_id": str(sub.id)},
        headers=bearer(session),
    )
    assert "Switch to Pro" in page.text
    assert "you pay $" in page.text
    done = await client.post(
        "/embed/views/subscriptions/change_plan",
        data={"subscription_id": str(sub.id), "price_id": plans["Pro"]},
        headers=bearer(session),
    )
    assert done.status_code == 200, done.text
    assert "Your plan has changed." in done.text
    row = await Subscription.objects().where(Subscription.id == sub.id).first()
    assert str(row.price) == plans["Pro"]


async def test_a_declined_seat_charge_says_so_and_is_paid_from_the_same_place(
    client, open_session, org, customer, keyring
):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Team"], seats=2)
    good = (await PaymentMethod.objects().where(PaymentMethod.customer == customer.id).first()).id
    await add_payment_method(
        org.org.id,
        customer.id,
        keyring=keyring,
        number="4000000000000341",
        exp_month=12,
        exp_year=clock.now().year + 2,
        cvc="123",
    )
    session = await open_session()
    changed = await client.post(
        "/embed/views/subscriptions/change_seats",
        data={"subscription_id": str(sub.id), "seats": "3"},
        headers=bearer(session),
    )
    assert changed.status_code == 200, changed.text
    message = re.search(r'<p class="ss-msg ss-error">(.*?)</p>', changed.text, re.S).group(1)
    assert message.startswith("You now have 3 seats. But the payment of $")
    assert "failed: The card was declined. Pay it now below, or update your card." in message
    assert "Seats updated." not in changed.text
    [order] = await Order.objects().where(Order.subscription == sub.id, Order.status == "pending")
    assert order.last_payment_error == "The card was declined."
    assert (await Subscription.objects().where(Subscription.id == sub.id).first()).status == "past_due"
    box = re.search(rf'<div class="ss-note ss-unpaid" id="unpaid-{order.id}">.*?</div>', changed.text, re.S)
    assert box is not None
    assert "Payment failed" in box.group(0)
    assert 'data-action="pay"' in box.group(0)
    assert f'value="{good}"' in box.group(0)
    assert 'data-view="settings"' in box.group(0)

    review = await client.get(
        "/embed/views/subscriptions",
        params={"action": "cancel", "subscription_id": str(sub.id), "step": "review", "when": "period_end"},
        headers=bearer(session),
    )
    assert "You will not be charged again." not in review.text
    assert "is still due on an unpaid invoice" in review.text

    paid = await client.post(
        "/embed/views/subscriptions/pay",
        data={"order_id": str(order.id), "payment_method_id": str(good)},
        headers=bearer(session),
    )
    assert paid.status_code == 200, paid.text
    assert "the payment went through" in paid.text
    assert "ss-unpaid" not in paid.text
    assert (await Order.objects().where(Order.id == order.id).first()).status == "paid"
    assert (await Subscription.objects().where(Subscription.id == sub.id).first()).status == "active"
    settled = await client.get(
        "/embed/views/subscriptions",
        params={"action": "cancel", "subscription_id": str(sub.id), "step": "review", "when": "period_end"},
        headers=bearer(session),
    )
    assert "You will not be charged again." in settled.text


async def test_a_charged_seat_change_says_what_was_charged(client, open_session, org, customer, keyring):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Team"], seats=2)
    changed = await client.post(
        "/embed/views/subscriptions/change_seats",
        data={"subscription_id": str(sub.id), "seats": "3"},
        headers=bearer(await open_session()),
    )
    [order] = await Order.objects().where(
        Order.subscription == sub.id, Order.billing_reason == "subscription_update"
    )
    assert order.status == "paid"
    expected = f"You now have 3 seats. ${order.total / 100:.2f} was charged to your card."
    assert f'<p class="ss-msg">{expected}</p>' in changed.text


async def test_seats_change_and_assignment(client, open_session, org, customer, keyring):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Team"], seats=2)
    session = await open_session()
    preview = await client.get(
        "/embed/views/subscriptions",
        params={"action": "change_seats", "subscription_id": str(sub.id), "seats": "3"},
        headers=bearer(session),
    )
    assert "New price: $15.00 per month." in preview.text
    changed = await client.post(
        "/embed/views/subscriptions/change_seats",
        data={"subscription_id": str(sub.id), "seats": "3"},
        headers=bearer(session),
    )
    assert changed.status_code == 200, changed.text
    assert (await Subscription.objects().where(Subscription.id == sub.id).first()).seats == 3
    too_many = await client.post(
        "/embed/views/subscriptions/change_seats",
        data={"subscription_id": str(sub.id), "seats": "9"},
        headers=bearer(session),
    )
    assert too_many.status_code == 422
    assigned = await client.post(
        "/embed/views/subscriptions/assign_seat",
        data={"subscription_id": str(sub.id), "email": "bo@example.com"},
        headers=bearer(session),
    )
    assert assigned.status_code == 200, assigned.text
    assert "Invitation sent to bo@example.com." in assigned.text
    assert '"customer_seat.assigned"' in assigned.headers["x-selfserve-events"]
    seat = await Seat.objects().where(Seat.subscription == sub.id).first()
    revoked = await client.post(
        "/embed/views/subscriptions/revoke_seat", data={"seat_id": str(seat.id)}, headers=bearer(session)
    )
    assert revoked.status_code == 200
    assert (await Seat.objects().where(Seat.id == seat.id).first()).status == SeatStatus.REVOKED


async def test_revoked_seats_stay_listed_as_revoked_and_can_be_given_back(
    client, open_session, org, customer, keyring
):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Team"], seats=2)
    session = await open_session()
    for email in ("ana@example.com", "bo@example.com"):
        await client.post(
            "/embed/views/subscriptions/assign_seat",
            data={"subscription_id": str(sub.id), "email": email},
            headers=bearer(session),
        )
    bo = await Seat.objects().where(Seat.subscription == sub.id, Seat.email == "bo@example.com").first()
    revoked = await client.post(
        "/embed/views/subscriptions/revoke_seat", data={"seat_id": str(bo.id)}, headers=bearer(session)
    )
    assert revoked.status_code == 200
    page = await client.get("/embed/views/subscriptions", headers=bearer(session))
    row = re.search(r"<li class=\"ss-row\"><span>bo@example\.com.*?</li>", page.text, re.S).group(0)
    assert "Revoked" in row
    assert "Give the seat back" in row
    assert "1 of 2 used" in page.text
    back = await client.post(
        "/embed/views/subscriptions/assign_seat",
        data={"subscription_id": str(sub.id), "email": "bo@example.com"},
        headers=bearer(session),
    )
    assert back.status_code == 200, back.text
    statuses = sorted(
        s.status
        for s in await Seat.objects().where(Seat.subscription == sub.id, Seat.email == "bo@example.com")
    )
    assert statuses == [SeatStatus.PENDING, SeatStatus.REVOKED]
    full = await client.get("/embed/views/subscriptions", headers=bearer(session))
    assert "2 of 2 used" in full.text
    assert "Give the seat back" not in full.text


async def test_another_customers_subscription_is_not_found(client, open_session, org, keyring):
    await _allow_pause(org)
    plans = await _plans(org)
    other = await create_customer(org.org.id, CustomerCreate(email="someone@example.com"))
    theirs = await _subscribed(org, other, keyring, plans["Team"], seats=2)
    session = await open_session()
    for action, form in [
        ("cancel", {"subscription_id": str(theirs.id), "when": "now"}),
        ("uncancel", {"subscription_id": str(theirs.id)}),
        ("change_plan", {"subscription_id": str(theirs.id), "price_id": plans["Starter"]}),
        ("change_seats", {"subscription_id": str(theirs.id), "seats": "3"}),
        ("assign_seat", {"subscription_id": str(theirs.id), "email": "x@example.com"}),
        ("pause", {"subscription_id": str(theirs.id)}),
        ("resume", {"subscription_id": str(theirs.id)}),
        ("clear_change", {"subscription_id": str(theirs.id)}),
    ]:
        response = await client.post(
            f"/embed/views/subscriptions/{action}", data=form, headers=bearer(session)
        )
        assert response.status_code == 404, (action, response.status_code)
    row = await Subscription.objects().where(Subscription.id == theirs.id).first()
    assert row.status == SubscriptionStatus.ACTIVE
    assert row.seats == 2
    assert not row.cancel_at_period_end


async def test_invitation_email_leads_to_a_claimed_seat(client, open_session, org, customer, keyring):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Team"], seats=2)
    session = await open_session()
    response = await client.post(
        "/embed/views/subscriptions/assign_seat",
        data={"subscription_id": str(sub.id), "email": "Grace@Example.com"},
        headers=bearer(session),
    )
    assert response.status_code == 200, response.text
    message = await EmailMessage.objects().where(EmailMessage.org == org.org.id).first()
    assert message.to_address == "grace@example.com"
    body = read_content(keyring, message.body_encrypted).text
    link = re.search(r"(http://127\.0\.0\.1:8000/portal/[\w-]+/claim#token=[\w-]+)", body).group(1)
    path, token = link.removeprefix("http://127.0.0.1:8000").split("#token=")
    page = await client.get(path)
    assert page.status_code == 200
    assert "Accept invitation" in page.text
    assert token not in page.text
    claimed = await client.post(path, data={"token": token})
    assert claimed.status_code == 200
    assert "grace@example.com now has a seat on Team" in claimed.text
    seat = await Seat.objects().where(Seat.subscription == sub.id).first()
    assert seat.status == SeatStatus.CLAIMED
    again = await client.post(path, data={"token": token})
    assert again.status_code == 410
    assert "not valid any more" in again.text


async def test_resending_an_invitation_sends_a_new_link_and_kills_the_old(
    client, open_session, org, customer, keyring
):
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Team"], seats=2)
    session = await open_session()
    await client.post(
        "/embed/views/subscriptions/assign_seat",
        data={"subscription_id": str(sub.id), "email": "lin@example.com"},
        headers=bearer(session),
    )
    seat = await Seat.objects().where(Seat.subscription == sub.id).first()
    resent = await client.post(
        "/embed/views/subscriptions/resend_seat", data={"seat_id": str(seat.id)}, headers=bearer(session)
    )
    assert resent.status_code == 200
    assert "Invitation sent again." in resent.text
    messages = (
        await EmailMessage.objects().where(EmailMessage.org == org.org.id).order_by(EmailMessage.created_at)
    )
    assert len(messages) == 2
    first, second = (read_content(keyring, m.body_encrypted).text for m in messages)
    old_token = re.search(r"#token=([\w-]+)", first).group(1)
    new_token = re.search(r"#token=([\w-]+)", second).group(1)
    path = f"/portal/{org.org.slug}/claim"
    assert (await client.post(path, data={"token": old_token})).status_code == 410
    assert (await client.post(path, data={"token": new_token})).status_code == 200


async def _allow_pause(org):
    settings = load_portal_settings(org.org)
    settings.features.pause = True
    branding, rest = dump_portal_settings(settings)
    await Organization.update({Organization.branding: branding, Organization.portal_settings: rest}).where(
        Organization.id == org.org.id
    )


async def test_pause_is_offered_only_where_the_service_allows_it(client, open_session, org, keyring):
    """A trial or a subscription whose payment failed cannot be paused: the view must not offer it."""
    await _allow_pause(org)
    plans = await _plans(org)
    offered = {}
    for label, card, trial in [
        ("active", "4242424242424242", 0),
        ("trial", "4242424242424242", 7),
        ("past_due", "4000000000000341", 0),
    ]:
        customer = await create_customer(org.org.id, CustomerCreate(email=f"{label}@example.com"))
        await add_payment_method(
            org.org.id, customer.id, keyring=keyring, number=card, exp_month=12, exp_year=2099, cvc="123"
        )
        sub = await create_subscription(org.org.id, customer.id, plans["Pro"], trial_days=trial)
        session = await open_session(customer_id=customer.id)
        page = await client.get("/embed/views/subscriptions", headers=bearer(session))
        offered[sub.status] = 'data-action="pause"' in page.text
        answer = await client.post(
            "/embed/views/subscriptions/pause", data={"subscription_id": str(sub.id)}, headers=bearer(session)
        )
        assert (answer.status_code == 200) is offered[sub.status], (sub.status, answer.status_code)
    assert offered == {"active": True, "trialing": False, "past_due": False}


async def test_pause_resume_and_clearing_a_scheduled_change(client, open_session, org, customer, keyring):
    await _allow_pause(org)
    plans = await _plans(org)
    sub = await _subscribed(org, customer, keyring, plans["Pro"])
    session = await open_session()
    form = {"subscription_id": str(sub.id)}
    paused = await client.post("/embed/views/subscriptions/pause", data=form, headers=bearer(session))
    assert paused.status_code == 200, paused.text
    assert (
        await Subscription.objects().where(Subscription.id == sub.id).first()
    ).status == SubscriptionStatus.PAUSED
    assert "Resume" in paused.text
    resumed = await client.post("/embed/views/subscriptions/resume", data=form, headers=bearer(session))
    assert resumed.status_code == 200
    assert (
        await Subscription.objects().where(Subscription.id == sub.id).first()
    ).status == SubscriptionStatus.ACTIVE
    downgrade = await client.post(
        "/embed/views/subscriptions/change_plan",
        data={**form, "price_id": plans["Starter"]},
        headers=bearer(session),
    )
    assert "Your plan will change at the end of this period." in downgrade.text
    assert "Keep my current plan" in downgrade.text
    cleared = await client.post("/embed/views/subscriptions/clear_change", data=form, headers=bearer(session))
    assert cleared.status_code == 200
    assert "The scheduled change was cancelled." in cleared.text
    row = await Subscription.objects().where(Subscription.id == sub.id).first()
    assert row.pending_price is None
    assert str(row.price) == plans["Pro"]
    again = await client.post("/embed/views/subscriptions/clear_change", data=form, headers=bearer(session))
    assert again.status_code == 409
