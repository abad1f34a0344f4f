"""Every figure a view previews is what the action then does: the preview and the action go through the same
service code, so at the same moment preview == outcome for each action that moves money."""

from datetime import timedelta

import pytest

from server.clock import FrozenClock, use_clock
from server.db.tables import Order, OrderLine, Refund, Subscription
from server.metering.service import UsageEventIn, ingest_events
from server.subscriptions import service as subscriptions
from server.wallet import service as wallet
from tests.integration.factories import (
    make_meter,
    make_price,
    make_product,
    metering,
)
from tests.integration.subscriptions.test_subscriptions import START, paying_customer, set_features


@pytest.fixture
def frozen():
    with use_clock(FrozenClock(START)) as clock:
        yield clock


async def _refunds(subscription_id):
    rows = await Refund.select(Refund.order, Refund.amount, Refund.destination).where(
        Refund.order.subscription == subscription_id
    )
    return sorted((str(r["order"]), r["amount"], r["destination"]) for r in rows)


async def _subscribed(org, keyring, *, amount=1000, seat_amount=0, seats=1, credit=0):
    customer = await paying_customer(org, keyring)
    if credit:
        await wallet.credit(org.org.id, customer.id, credit, "USD", "promotional", "welcome")
    price = await make_price(org.org.id, amount=amount, seat_amount=seat_amount)
    sub = await subscriptions.create_subscription(org.org.id, customer.id, price.id, seats=seats)
    return customer, sub


@pytest.mark.parametrize(
    ("policy", "credit"),
    [("payment_method", 0), ("payment_method", 800), ("wallet", 800), ("wallet", 0), ("none", 0)],
)
async def test_cancel_now_refunds_what_the_preview_said(org, keyring, frozen, policy, credit):
    await set_features(org.org.id, immediate_cancel=True, immediate_cancel_refund=policy)
    customer, sub = await _subscribed(org, keyring, credit=credit)
    frozen.advance(timedelta(days=11, hours=5, seconds=17))
    preview = await subscriptions.preview_cancel(
        org.org.id, sub.id, customer_id=customer.id, at_period_end=False
    )
    await subscriptions.cancel_subscription(org.org.id, sub.id, customer_id=customer.id, at_period_end=False)
    refunds = await _refunds(sub.id)
    assert refunds == sorted((str(r.order_id), r.amount, preview.refund_destination) for r in preview.refunds)
    assert preview.refund_total == sum(amount for _, amount, _ in refunds)
    if policy == "none":
        assert refunds == []
    elif policy == "payment_method" and credit:
        assert preview.refund_total == 200  # the card paid 2.00 of 10.00: no more goes back to it
    else:
        assert preview.refund_total > 0


async def test_cancel_at_period_end_refunds_nothing_and_says_what_is_owed(org, keyring, frozen):
    customer, sub = await _subscribed(org, keyring)
    frozen.advance(timedelta(days=31))
    await subscriptions.renew_subscription(org.org.id, sub.id)  # paid
    preview = await subscriptions.preview_cancel(org.org.id, sub.id, customer_id=customer.id)
    assert (preview.refund_total, preview.amount_owed, preview.refund_destination) == (0, 0, "none")
    await Order.update({Order.status: "pending"}).where(Order.subscription == sub.id)
    owing = await subscriptions.preview_cancel(org.org.id, sub.id, customer_id=customer.id)
    assert owing.amount_owed == 2000
    ended = await subscriptions.cancel_subscription(org.org.id, sub.id, customer_id=customer.id)
    assert ended.cancel_at_period_end
    assert await _refunds(sub.id) == []
    assert ended.current_period_end == preview.ends_at


@pytest.mark.parametrize(
    ("target_amount", "timing"), [(3000, "immediately"), (500, "immediately"), (500, "period_end")]
)
async def test_plan_change_charges_or_credits_what_the_preview_said(
    org, keyring, frozen, target_amount, timing
):
    await set_features(org.org.id, upgrade_timing="immediately", downgrade_timing=timing)
    _, sub = await _subscribed(org, keyring)
    target = await make_price(org.org.id, await make_product(org.org.id, "Other"), amount=target_amount)
    frozen.advance(timedelta(days=9, hours=3))
    preview = await subscriptions.preview_plan_change(org.org.id, sub.id, target.id)
    changed = (await subscriptions.change_plan(org.org.id, sub.id, target.id)).subscription
    await _assert_change_matches(org, sub, changed, preview)


@pytest.mark.parametrize("seats", [7, 2])
async def test_seat_change_charges_or_credits_what_the_preview_said(org, keyring, frozen, seats):
    customer, sub = await _subscribed(org, keyring, amount=0, seat_amount=1200, seats=4)
    frozen.advance(timedelta(days=20, minutes=7))
    preview = await subscriptions.preview_seat_change(org.org.id, sub.id, seats, customer_id=customer.id)
    changed = (
        await subscriptions.change_seats(org.org.id, sub.id, seats, customer_id=customer.id)
    ).subscription
    assert changed.seats == preview.seats == seats
    await _assert_change_matches(org, sub, changed, preview)


async def _assert_change_matches(org, sub, changed, preview):
    """A positive proration is one order of exactly that amount; a negative one waits as a credit line of
    exactly that amount; a change at the period end changes nothing now."""
    updates = await Order.objects().where(
        Order.subscription == sub.id, Order.billing_reason == "subscription_update"
    )
    pending_credits = subscriptions._pending_credits(changed)
    if preview.effective == "period_end":
        assert preview.proration == 0
        assert updates == []
        assert str(changed.pending_price) == str(preview.price_id)
    elif preview.proration > 0:
        [order] = updates
        [line] = await OrderLine.objects().where(OrderLine.order == order.id)
        assert line.amount == order.subtotal == preview.proration
        assert order.status == "paid"
        assert pending_credits == []
    else:
        assert updates == []
        assert [line.amount for line in pending_credits] == [preview.proration]
    assert (
        subscriptions.period_amount(await subscriptions._price(org.org.id, preview.price_id), preview.seats)
        == preview.new_amount
    )


@pytest.mark.parametrize("lite_amount", [2000, 100])
async def test_the_renewal_order_is_the_next_invoice_preview(org, keyring, frozen, lite_amount):
    """Usage, the next period's base, a pending proration credit and wallet credit; with a small plan the
    credit outweighs the rest (nothing is charged and the excess goes to the wallet)."""
    customer, sub = await _subscribed(org, keyring, amount=2900)
    await wallet.credit(org.org.id, customer.id, 500, "USD", "promotional", "welcome")
    meter = await make_meter(org.org.id, "api_call")
    frozen.advance(timedelta(days=3))
    await ingest_events(org.org.id, [UsageEventIn(name="api_call", customer_id=customer.id, value=347)])
    lite = await make_price(
        org.org.id,
        await make_product(org.org.id, "Lite"),
        amount=lite_amount,
        meters=[metering(meter, included=100, unit_amount=50, unit_batch=10)],
    )
    await set_features(org.org.id, downgrade_timing="immediately")
    await subscriptions.change_plan(org.org.id, sub.id, lite.id)  # leaves a credit for the renewal
    frozen.set(sub.current_period_end - timedelta(seconds=1))
    preview = await subscriptions.preview_next_invoice(org.org.id, sub.id, customer_id=customer.id)
    frozen.set(sub.current_period_end)
    order = await subscriptions.renew_subscription(org.org.id, sub.id)
    lines = await OrderLine.objects().where(OrderLine.order == order.id).order_by(OrderLine.position)
    assert [(line.kind, line.description, line.quantity, line.amount) for line in lines] == [
        (line.kind, line.description, line.quantity, line.amount) for line in preview.lines
    ]
    assert {line.kind for line in lines} == {"usage", "base", "proration"}
    assert (order.subtotal, order.wallet_applied, order.total) == (
        preview.subtotal,
        preview.wallet_applied,
        preview.total,
    )
    assert (preview.subtotal > 0) == (lite_amount == 2000)
    assert (preview.wallet_applied > 0) == (lite_amount == 2000)
    renewed = await Subscription.objects().where(Subscription.id == sub.id).first()
    assert (renewed.current_period_start, renewed.current_period_end) == (
        preview.period_start,
        preview.period_end,
    )
