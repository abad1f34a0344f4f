"""Dunning on the ANCHORS.md schedule (+2, +7, +14, +21 days after the first failure, then the merchant's
final action), driven by the real job with a frozen clock; crash and concurrency safety of the retries."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from server import clock
from server.billing import jobs, orders
from server.billing.sandbox import SANDBOX
from server.db.tables import Organization, PaymentMethod, Subscription
from server.schemas.portal_settings import dump_portal_settings, load_portal_settings
from server.worker import JobContext
from tests.integration.billing.test_orders import (
    FAILS_ON_CHARGE,
    GOOD_CARD,
    add_card,
    events,
    make_customer,
    make_subscription,
    new_order,
)

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def frozen():
    with clock.use_clock(clock.FrozenClock(T0)) as frozen_clock:
        yield frozen_clock


@pytest.fixture
def context(settings, keyring):
    return JobContext(settings=settings, keyring=keyring)


async def failing_subscription_order(keyring, org_id):
    customer = await make_customer(org_id)
    await add_card(keyring, org_id, customer.id, FAILS_ON_CHARGE)
    subscription = await make_subscription(org_id, customer.id)
    order = await new_order(
        org_id, customer.id, 1000, subscription_id=subscription.id, reason="subscription_cycle"
    )
    assert not await orders.attempt_payment(org_id, order.id)
    return customer, subscription, order


async def status_of(subscription_id):
    return (await Subscription.select(Subscription.status).where(Subscription.id == subscription_id).first())[
        "status"
    ]


async def test_retries_follow_the_schedule_then_cancel(org, keyring, frozen, context):
    org_id = org.org.id
    _, subscription, order = await failing_subscription_order(keyring, org_id)
    seen = [(await orders.get_order(org_id, order.id)).next_payment_attempt_at]
    for due, late_by in (
        (2, timedelta(hours=3)),
        (7, timedelta(0)),
        (14, timedelta(minutes=1)),
        (21, timedelta(0)),
    ):
        frozen.set(T0 + due * DAY - timedelta(seconds=1))
        await jobs.retry_due_payments(context)
        assert (await orders.get_order(org_id, order.id)).payment_attempts == len(seen)  # not due yet
        frozen.set(T0 + due * DAY + late_by)
        await jobs.retry_due_payments(context)
        current = await orders.get_order(org_id, order.id)
        assert current.payment_attempts == len(seen) + 1
        seen.append(current.next_payment_attempt_at)
    assert seen == [T0 + 2 * DAY, T0 + 7 * DAY, T0 + 14 * DAY, T0 + 21 * DAY, None]
    final = await orders.get_order(org_id, order.id)
    assert (final.status, final.payment_attempts) == ("void", 5)
    assert await status_of(subscription.id) == "canceled"
    assert [e["id"] for e in await events(org_id, "subscription.canceled")] == [str(subscription.id)]
    frozen.advance(30 * DAY)
    await jobs.retry_due_payments(context)
    assert (await orders.get_order(org_id, order.id)).payment_attempts == 5


async def test_final_action_unpaid_keeps_the_order_payable(org, keyring, frozen, context):
    org_id = org.org.id
    settings = load_portal_settings(org.org)
    settings.features.dunning_final_action = "unpaid"
    branding, portal = dump_portal_settings(settings)
    await Organization.update({Organization.branding: branding, Organization.portal_settings: portal}).where(
        Organization.id == org_id
    )
    customer, subscription, order = await failing_subscription_order(keyring, org_id)
    for due in (2, 7, 14, 21):
        frozen.set(T0 + due * DAY)
        await jobs.retry_due_payments(context)
    after = await orders.get_order(org_id, order.id)
    assert (after.status, after.payment_attempts, after.next_payment_attempt_at) == ("pending", 5, None)
    assert await status_of(subscription.id) == "unpaid"
    good = await add_card(keyring, org_id, customer.id, GOOD_CARD, make_default=False)
    assert (await orders.get_order(org_id, order.id)).status == "pending"  # a backup card is not charged
    paid = await orders.pay_order(org_id, order.id, customer_id=customer.id, payment_method_id=good.id)
    assert paid.status == "paid"
    assert await status_of(subscription.id) == "active"


async def test_a_new_card_mid_dunning_ends_it(org, keyring, frozen, context):
    org_id = org.org.id
    customer, subscription, order = await failing_subscription_order(keyring, org_id)
    frozen.set(T0 + 2 * DAY)
    await jobs.retry_due_payments(context)
    assert await status_of(subscription.id) == "past_due"
    await add_card(keyring, org_id, customer.id, GOOD_CARD)
    paid = await orders.get_order(org_id, order.id)
    assert (paid.status, paid.next_payment_attempt_at) == ("paid", None)
    assert await status_of(subscription.id) == "active"
    frozen.set(T0 + 30 * DAY)
    await jobs.retry_due_payments(context)
    assert (await orders.get_order(org_id, order.id)).payment_attempts == 2


async def test_one_time_order_is_voided_after_the_last_retry(org, keyring, frozen, context):
    org_id = org.org.id
    customer = await make_customer(org_id)
    order = await new_order(org_id, customer.id, 500)
    assert not await orders.attempt_payment(org_id, order.id)  # no card at all
    for due in (2, 7, 14, 21):
        frozen.set(T0 + due * DAY)
        await jobs.retry_due_payments(context)
    assert (await orders.get_order(org_id, order.id)).status == "void"


async def _fix_the_card(customer_id):
    """The bank lifts the block: the saved card now charges fine."""
    method = await PaymentMethod.objects().where(PaymentMethod.customer == customer_id).first()
    ref = method.provider_ref.rsplit(".", 1)[0] + ".ok"
    await PaymentMethod.update({PaymentMethod.provider_ref: ref}).where(PaymentMethod.id == method.id)
    return ref


async def test_concurrent_job_runs_charge_once(org, keyring, frozen, context):
    org_id = org.org.id
    customer, _, order = await failing_subscription_order(keyring, org_id)
    ref = await _fix_the_card(customer.id)
    frozen.set(T0 + 2 * DAY)
    await asyncio.gather(*(jobs.retry_due_payments(context) for _ in range(8)))
    assert SANDBOX.charges.count((ref, 1000, "USD")) == 1
    assert (await orders.get_order(org_id, order.id)).status == "paid"
    assert len(await events(org_id, "order.paid")) == 1


async def test_a_crash_after_charging_does_not_charge_twice(org, keyring, frozen, context, monkeypatch):
    org_id = org.org.id
    customer, _, order = await failing_subscription_order(keyring, org_id)
    ref = await _fix_the_card(customer.id)
    frozen.set(T0 + 2 * DAY)

    async def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patched:
        patched.setattr(orders, "_record_success", crash)
        with pytest.raises(RuntimeError, match="killed"):
            await jobs.retry_due_payments(context)
    assert SANDBOX.charges.count((ref, 1000, "USD")) == 1
    assert (await orders.get_order(org_id, order.id)).status == "pending"
    await jobs.retry_due_payments(context)  # within the lease: left alone
    assert (await orders.get_order(org_id, order.id)).status == "pending"
    frozen.advance(orders.PAYMENT_LEASE + timedelta(seconds=1))
    await jobs.retry_due_payments(context)
    assert (await orders.get_order(org_id, order.id)).status == "paid"
    assert SANDBOX.charges.count((ref, 1000, "USD")) == 1
