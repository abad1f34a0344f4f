import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from server.billing import lifecycle, payments
from server.clock import FrozenClock, use_clock
from server.db.tables import BenefitGrant, Order, OrderLine, Organization, Refund, WebhookEvent
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.metering.service import UsageEventIn, ingest_events
from server.schemas.portal_settings import dump_portal_settings, load_portal_settings
from server.subscriptions import service as subscriptions
from server.subscriptions.service import (
    cancel_subscription,
    change_plan,
    change_seats,
    clear_scheduled_change,
    create_subscription,
    preview_next_invoice,
    preview_plan_change,
    renew_subscription,
    uncancel_subscription,
)
from server.wallet import service as wallet
from tests.integration.factories import (
    make_benefit,
    make_customer,
    make_meter,
    make_price,
    make_product,
    metering,
)

START = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
GOOD_CARD = "4242424242424242"


@pytest.fixture
def frozen():
    with use_clock(FrozenClock(START)) as c:
        yield c


async def paying_customer(org, keyring, number=GOOD_CARD):
    customer = await make_customer(org.org.id)
    await payments.add_payment_method(
        org.org.id, customer.id, keyring=keyring, number=number, exp_month=12, exp_year=2035, cvc="123"
    )
    return customer


async def set_features(org_id, **features):
    row = await Organization.objects().where(Organization.id == org_id).first()
    settings = load_portal_settings(row)
    settings.features = msgspec.structs.replace(settings.features, **features)
    branding, portal = dump_portal_settings(settings)
    await Organization.update({Organization.branding: branding, Organization.portal_settings: portal}).where(
        Organization.id == org_id
    )


async def events(org_id, type):
    rows = (
        await WebhookEvent.select(WebhookEvent.payload)
        .where(WebhookEvent.org == org_id, WebhookEvent.type == type)
        .order_by(WebhookEvent.created_at)
    )
    return [msgspec.json.decode(r["payload"]) for r in rows]


async def orders_of(subscription_id):
    rows = await Order.objects().where(Order.subscription == subscription_id).order_by(Order.created_at)
    result = []
    for order in rows:
        lines = (
            await OrderLine.select(
                OrderLine.kind, OrderLine.quantity, OrderLine.unit_amount, OrderLine.amount
            )
            .where(OrderLine.order == order.id)
            .order_by(OrderLine.position)
        )
        result.append(
            (order, [(line["kind"], line["quantity"], line["unit_amount"], line["amount"]) for line in lines])
        )
    return result


async def test_create_charges_the_first_period_and_grants_benefits(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    price = await make_price(org_id, amount=1000, seat_amount=500, min_seats=2, max_seats=10)
    await make_benefit(org_id, await _product_of(price), "discord", invite_url="https://discord.gg/x")
    sub = await create_subscription(org_id, customer.id, price.id, seats=3)
    assert sub.status == "active"
    assert sub.current_period_end == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    [(order, lines)] = await orders_of(sub.id)
    assert (order.status, order.billing_reason, order.total) == ("paid", "subscription_create", 2500)
    assert lines == [("base", 1, 1000, 1000), ("seats", 3, 500, 1500)]
    assert [e["id"] for e in await events(org_id, "subscription.created")] == [str(sub.id)]
    assert await BenefitGrant.count().where(BenefitGrant.subscription == sub.id) == 1
    assert len(await events(org_id, "benefit_grant.created")) == 1


async def _product_of(price):
    from server.db.tables import Product

    return await Product.objects().where(Product.id == price.product).first()


async def test_create_refuses_bad_input_without_writing(org, keyring, frozen):
    org_id = org.org.id
    customer = await make_customer(org_id)
    price = await make_price(org_id, seat_amount=100, min_seats=2, max_seats=5)
    with pytest.raises(Invalid, match="at least 2 seats and at most 5"):
        await create_subscription(org_id, customer.id, price.id, seats=6)
    with pytest.raises(NotFound):
        await create_subscription(org_id, customer.id, (await make_price((await _other(keyring)).org.id)).id)
    with pytest.raises(Invalid, match="trial_days"):
        await create_subscription(org_id, customer.id, price.id, seats=2, trial_days=-1)
    assert await subscriptions.list_subscriptions(org_id, customer_id=customer.id) == []


async def _other(keyring):
    from server.organizations.service import create_organization

    return await create_organization(keyring, name="Elsewhere")


async def test_trial_starts_free_and_the_first_renewal_bills(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    price = await make_price(org_id, amount=2000, trial_days=14)
    sub = await create_subscription(org_id, customer.id, price.id)
    assert (sub.status, sub.trial_end) == ("trialing", START + timedelta(days=14))
    assert await orders_of(sub.id) == []
    frozen.set(START + timedelta(days=14))
    order = await renew_subscription(org_id, sub.id)
    assert (order.total, order.status) == (2000, "paid")
    sub = await subscriptions.get_subscription(org_id, sub.id)
    assert sub.status == "active"
    assert sub.current_period_end == datetime(2027, 3, 14, 10, 0, tzinfo=UTC)


async def test_renewal_keeps_the_anchor_day_bills_overage_and_never_twice(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    meter = await make_meter(org_id, "api_call")
    price = await make_price(
        org_id, amount=1000, meters=[metering(meter, included=100, unit_amount=50, unit_batch=10)]
    )
    sub = await create_subscription(org_id, customer.id, price.id)
    await ingest_events(
        org_id,
        [
            UsageEventIn(
                name="api_call", customer_id=customer.id, value=v, occurred_at=START + timedelta(days=d)
            )
            for v, d in ((80, 1), (45, 20), (999, 40))
        ],
    )
    frozen.set(datetime(2027, 2, 28, 10, 0, tzinfo=UTC))
    results = await asyncio.gather(
        *(renew_subscription(org_id, sub.id) for _ in range(5)), return_exceptions=True
    )
    assert sum(1 for r in results if r is not None and not isinstance(r, Conflict)) == 1
    orders = await orders_of(sub.id)
    assert len(orders) == 2
    # 125 used, 25 beyond 100 included → 2.5 batches of 10, rounded half up to 3 batches at 50
    assert orders[1][1] == [("usage", 3, 50, 150), ("base", 1, 1000, 1000)]
    assert orders[1][0].total == 1150
    frozen.set(datetime(2027, 3, 31, 10, 0, tzinfo=UTC))
    await renew_subscription(org_id, sub.id)
    sub = await subscriptions.get_subscription(org_id, sub.id)
    assert sub.current_period_end == datetime(2027, 4, 30, 10, 0, tzinfo=UTC)


async def test_twenty_concurrent_cancels_make_one_transition(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    sub = await create_subscription(org_id, customer.id, (await make_price(org_id)).id)
    results = await asyncio.gather(
        *(cancel_subscription(org_id, sub.id, reason="too_expensive") for _ in range(20)),
        return_exceptions=True,
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    assert len(await events(org_id, "subscription.canceled")) == 1
    sub = await subscriptions.get_subscription(org_id, sub.id)
    assert (sub.cancel_at_period_end, sub.cancellation_reason, sub.version) == (True, "too_expensive", 2)


async def test_cancel_at_period_end_keeps_access_until_the_end_then_revokes(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    price = await make_price(org_id)
    await make_benefit(org_id, await _product_of(price), "custom", instructions="hi")
    sub = await create_subscription(org_id, customer.id, price.id)
    await cancel_subscription(org_id, sub.id, customer_id=customer.id, reason="unused", comment="bye")
    frozen.set(sub.current_period_end)
    assert await renew_subscription(org_id, sub.id) is None
    sub = await subscriptions.get_subscription(org_id, sub.id)
    assert (sub.status, sub.ended_at) == ("canceled", sub.current_period_end)
    assert len(await orders_of(sub.id)) == 1
    assert [e["status"] for e in await events(org_id, "subscription.revoked")] == ["canceled"]
    assert len(await events(org_id, "benefit_grant.revoked")) == 1
    with pytest.raises(Conflict):
        await uncancel_subscription(org_id, sub.id)


async def test_uncancel_and_reason_rules(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    sub = await create_subscription(org_id, customer.id, (await make_price(org_id)).id)
    await set_features(org_id, cancellation_reasons=["unused", "other"])
    with pytest.raises(Invalid, match="unused, other"):
        await cancel_subscription(org_id, sub.id, reason="too_expensive")
    await cancel_subscription(org_id, sub.id, reason="other", comment="moving on")
    sub = await uncancel_subscription(org_id, sub.id, customer_id=customer.id)
    assert (sub.cancel_at_period_end, sub.cancellation_reason) == (False, None)
    assert len(await events(org_id, "subscription.uncanceled")) == 1
    with pytest.raises(NotFound):
        await cancel_subscription(org_id, sub.id, customer_id=(await make_customer(org_id)).id)


@pytest.mark.parametrize("policy", ["payment_method", "wallet"])
async def test_immediate_cancel_refunds_unused_time_as_configured(org, keyring, frozen, policy):
    org_id = org.org.id
    await set_features(org_id, immediate_cancel_refund=policy)
    customer = await paying_customer(org, keyring)
    sub = await create_subscription(org_id, customer.id, (await make_price(org_id, amount=2800)).id)
    frozen.set(START + timedelta(days=7))  # 21 of 28 days unused
    sub = await cancel_subscription(org_id, sub.id, customer_id=customer.id, at_period_end=False)
    assert (sub.status, sub.ended_at) == ("canceled", START + timedelta(days=7))
    refunds = await Refund.select(Refund.amount, Refund.destination).where(Refund.customer == customer.id)
    assert refunds == [{"amount": 2100, "destination": policy}]
    balance = await wallet.get_balance(org_id, customer.id, "USD")
    assert balance == (2100 if policy == "wallet" else 0)
    assert len(await events(org_id, "subscription.canceled")) == 1
    assert len(await events(org_id, "subscription.revoked")) == 1


async def test_portal_cannot_cancel_now_when_the_merchant_turned_it_off(org, keyring, frozen):
    org_id = org.org.id
    await set_features(org_id, immediate_cancel=False)
    customer = await paying_customer(org, keyring)
    sub = await create_subscription(org_id, customer.id, (await make_price(org_id)).id)
    with pytest.raises(Forbidden):
        await cancel_subscription(org_id, sub.id, customer_id=customer.id, at_period_end=False)
    assert (await subscriptions.get_subscription(org_id, sub.id)).status == "active"


async def test_upgrade_now_with_proration_and_downgrade_at_period_end(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    basic = await make_price(org_id, await make_product(org_id, "Basic"), amount=1000)
    pro = await make_price(org_id, await make_product(org_id, "Pro"), amount=2000)
    sub = await create_subscription(org_id, customer.id, basic.id)
    frozen.set(START + timedelta(days=14))  # half of the 28-day period left
    preview = await preview_plan_change(org_id, sub.id, pro.id, customer_id=customer.id)
    assert (preview.effective, preview.proration) == ("immediately", 500)
    sub = (await change_plan(org_id, sub.id, pro.id, customer_id=customer.id)).subscription
    assert sub.price == pro.id
    orders = await orders_of(sub.id)
    assert orders[-1][0].billing_reason == "subscription_update"
    assert orders[-1][1] == [("proration", 1, 500, 500)]
    assert orders[-1][0].status == "paid"

    preview = await preview_plan_change(org_id, sub.id, basic.id)
    assert (preview.effective, preview.proration, preview.effective_at) == (
        "period_end",
        0,
        sub.current_period_end,
    )
    sub = (await change_plan(org_id, sub.id, basic.id)).subscription
    assert sub.pending_price == basic.id
    sub = await clear_scheduled_change(org_id, sub.id)
    assert sub.pending_price is None
    sub = (await change_plan(org_id, sub.id, basic.id)).subscription
    frozen.set(sub.current_period_end)
    order = await renew_subscription(org_id, sub.id)
    sub = await subscriptions.get_subscription(org_id, sub.id)
    assert (sub.price, sub.pending_price, order.total) == (basic.id, None, 1000)


async def test_immediate_downgrade_credits_the_next_renewal(org, keyring, frozen):
    org_id = org.org.id
    await set_features(org_id, downgrade_timing="immediately")
    customer = await paying_customer(org, keyring)
    pro = await make_price(org_id, amount=2000)
    basic = await make_price(org_id, amount=1000)
    sub = await create_subscription(org_id, customer.id, pro.id)
    frozen.set(START + timedelta(days=21))  # a quarter of the period left
    sub = (await change_plan(org_id, sub.id, basic.id)).subscription
    assert sub.price == basic.id
    invoice = await preview_next_invoice(org_id, sub.id)
    assert [(line.kind, line.amount) for line in invoice.lines] == [("base", 1000), ("proration", -250)]
    assert invoice.total == 750
    frozen.set(sub.current_period_end)
    order = await renew_subscription(org_id, sub.id)
    assert order.total == 750
    assert (await preview_next_invoice(org_id, sub.id)).total == 1000


async def test_portal_plan_switch_rules(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    basic = await make_price(org_id, amount=1000)
    hidden = await make_price(org_id, await make_product(org_id, "Internal", visible=False), amount=3000)
    other = await make_price(org_id, amount=3000)
    euro = await make_price(org_id, amount=3000, currency="EUR")
    sub = await create_subscription(org_id, customer.id, basic.id)
    with pytest.raises(Forbidden, match="not offered"):
        await preview_plan_change(org_id, sub.id, hidden.id, customer_id=customer.id)
    await preview_plan_change(org_id, sub.id, hidden.id)  # the merchant API may
    with pytest.raises(Invalid, match="billed in USD"):
        await preview_plan_change(org_id, sub.id, euro.id)
    await set_features(org_id, plan_switches={str(basic.product): []})
    with pytest.raises(Forbidden, match="cannot be switched"):
        await change_plan(org_id, sub.id, other.id, customer_id=customer.id)
    await set_features(org_id, plan_change=False)
    with pytest.raises(Forbidden, match="turned off"):
        await change_plan(org_id, sub.id, other.id, customer_id=customer.id)
    assert (await subscriptions.get_subscription(org_id, sub.id)).price == basic.id


async def test_seat_changes_are_prorated_and_bounded(org, keyring, frozen):
    from server.subscriptions.seats import assign_seat

    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    price = await make_price(org_id, amount=0, seat_amount=1000, min_seats=1, max_seats=20)
    sub = await create_subscription(org_id, customer.id, price.id, seats=2)
    frozen.set(START + timedelta(days=14))
    preview = await subscriptions.preview_seat_change(org_id, sub.id, 5)
    assert preview.proration == 1500
    sub = (await change_seats(org_id, sub.id, 5)).subscription
    assert (await orders_of(sub.id))[-1][1] == [("proration", 1, 1500, 1500)]
    for n in range(3):
        await assign_seat(org_id, sub.id, f"m{n}@example.com")
    with pytest.raises(Conflict, match="3 seats are assigned: revoke 1 of them"):
        await change_seats(org_id, sub.id, 2)
    with pytest.raises(Invalid, match="at most 20"):
        await change_seats(org_id, sub.id, 21)
    sub = (await change_seats(org_id, sub.id, 3)).subscription
    assert sub.seats == 3
    invoice = await preview_next_invoice(org_id, sub.id)
    assert [(line.kind, line.amount) for line in invoice.lines] == [("seats", 3000), ("proration", -1000)]


async def test_pause_and_resume_follow_the_portal_setting(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    price = await make_price(org_id)
    await make_benefit(org_id, await _product_of(price), "custom", instructions="hi")
    sub = await create_subscription(org_id, customer.id, price.id)
    with pytest.raises(Forbidden):
        await subscriptions.pause_subscription(org_id, sub.id, customer_id=customer.id)
    await set_features(org_id, pause=True)
    sub = await subscriptions.pause_subscription(org_id, sub.id, customer_id=customer.id)
    assert sub.status == "paused"
    assert (
        await BenefitGrant.count().where(
            BenefitGrant.subscription == sub.id, BenefitGrant.revoked_at.is_null()
        )
        == 0
    )
    frozen.set(sub.current_period_end)
    assert await renew_subscription(org_id, sub.id) is None  # a paused period is not billed
    sub = await subscriptions.resume_subscription(org_id, sub.id, customer_id=customer.id)
    assert sub.status == "active"
    assert (
        await BenefitGrant.count().where(
            BenefitGrant.subscription == sub.id, BenefitGrant.revoked_at.is_null()
        )
        == 1
    )
    assert len(await orders_of(sub.id)) == 1


async def test_end_subscription_is_dunnings_final_action(org, keyring, frozen):
    org_id = org.org.id
    customer = await paying_customer(org, keyring)
    sub = await create_subscription(org_id, customer.id, (await make_price(org_id)).id)
    sub = await lifecycle.end_subscription(org_id, sub.id, status="unpaid")
    assert sub.status == "unpaid"
    assert (await lifecycle.end_subscription(org_id, sub.id, status="canceled")).version == sub.version
    assert [s.id for s in await subscriptions.list_subscriptions(org_id, status="unpaid")] == [sub.id]
    with pytest.raises(Invalid, match="status must be one of"):
        await subscriptions.list_subscriptions(org_id, status="nope")
    with pytest.raises(Invalid):
        await lifecycle.end_subscription(org_id, sub.id, status="active")
