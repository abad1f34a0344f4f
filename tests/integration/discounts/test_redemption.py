"""Discounts across renewals (time travel on server.clock) and redemption limits under concurrency: a
``once`` coupon reduces one renewal, ``repeating 3`` three, ``forever`` all; an expired coupon cannot be
redeemed but one already applied keeps running; twenty concurrent redemptions of a coupon limited to five
make exactly five."""

import asyncio
from datetime import timedelta

import pytest

from server.billing.schemas import current_discount
from server.clock import FrozenClock, use_clock
from server.db.tables import Coupon, CouponRedemption, Order, PromotionCode
from server.discounts import service as discounts
from server.discounts.service import DiscountRefused
from server.subscriptions import service as subscriptions
from tests.integration.factories import make_customer, make_price, make_product
from tests.integration.subscriptions.test_subscriptions import START, orders_of, paying_customer

MONTHS = 7


@pytest.fixture
def frozen():
    with use_clock(FrozenClock(START)) as clock:
        yield clock


async def _discounted_renewals(subscription_id):
    """Per renewal order, oldest first: the discount lines' total (0 when none)."""
    return [
        sum(amount for kind, _, _, amount in lines if kind == "discount")
        for order, lines in await orders_of(subscription_id)
        if order.billing_reason == "subscription_cycle"
    ]


async def _renew_months(clock, months):
    for _ in range(months):
        clock.advance(timedelta(days=31))
        await subscriptions.renew_due_subscriptions()


@pytest.mark.parametrize(
    ("duration", "periods", "discounted"),
    [("once", None, 1), ("repeating", 3, 3), ("forever", None, MONTHS)],
)
async def test_each_duration_reduces_as_many_renewals_as_it_says(
    org, keyring, frozen, duration, periods, discounted
):
    customer = await paying_customer(org, keyring)
    price = await make_price(org.org.id, amount=1000)
    subscription = await subscriptions.create_subscription(org.org.id, customer.id, price.id)
    coupon = await discounts.create_coupon(
        org.org.id, name="Launch", percent_off="25", duration=duration, duration_periods=periods
    )
    applied = await subscriptions.apply_discount(org.org.id, subscription.id, coupon_id=coupon.id)
    assert applied.discount  # the subscription carries it
    preview = await subscriptions.preview_next_invoice(org.org.id, subscription.id)
    assert [(line.kind, line.description, line.amount) for line in preview.lines] == [
        ("base", "Pro", 1000),
        ("discount", "Launch", -250),
    ]
    assert preview.total == 750

    await _renew_months(frozen, MONTHS)

    renewals = await _discounted_renewals(subscription.id)
    assert len(renewals) == MONTHS
    assert renewals == [-250] * discounted + [0] * (MONTHS - discounted)
    cycle_totals = [
        o.total for o, _ in await orders_of(subscription.id) if o.billing_reason == "subscription_cycle"
    ]
    assert cycle_totals == [750] * discounted + [1000] * (MONTHS - discounted)
    after = await subscriptions.get_subscription(org.org.id, subscription.id)
    still_running = duration == "forever"
    assert bool(current_discount(after.discount)) is still_running


async def test_an_expired_coupon_is_refused_but_an_applied_one_keeps_its_duration(org, keyring, frozen):
    customer = await paying_customer(org, keyring)
    price = await make_price(org.org.id, amount=2000)
    first = await subscriptions.create_subscription(org.org.id, customer.id, price.id)
    second = await subscriptions.create_subscription(org.org.id, customer.id, price.id)
    coupon = await discounts.create_coupon(
        org.org.id,
        name="Ten off",
        amount_off=1000,
        currency="USD",
        duration="repeating",
        duration_periods=3,
        redeem_by=frozen.now() + timedelta(days=10),
    )
    await subscriptions.apply_discount(org.org.id, first.id, coupon_id=coupon.id)
    frozen.advance(timedelta(days=11))
    with pytest.raises(DiscountRefused) as refused:
        await subscriptions.apply_discount(org.org.id, second.id, coupon_id=coupon.id)
    assert refused.value.reason == "expired"
    assert (await subscriptions.get_subscription(org.org.id, second.id)).discount in ({}, "{}")

    await _renew_months(frozen, 4)
    assert await _discounted_renewals(first.id) == [-1000, -1000, -1000, 0]
    assert await _discounted_renewals(second.id) == [0, 0, 0, 0]


async def test_an_amount_off_never_exceeds_the_invoice_and_skips_other_currencies(org, keyring, frozen):
    customer = await paying_customer(org, keyring)
    cheap = await make_price(org.org.id, amount=500)
    euro = await make_price(org.org.id, amount=500, currency="EUR")
    subscription = await subscriptions.create_subscription(org.org.id, customer.id, cheap.id)
    in_euros = await subscriptions.create_subscription(org.org.id, customer.id, euro.id)
    coupon = await discounts.create_coupon(
        org.org.id, name="Big", amount_off=800, currency="USD", duration="forever"
    )
    with pytest.raises(DiscountRefused) as refused:
        await subscriptions.apply_discount(org.org.id, in_euros.id, coupon_id=coupon.id)
    assert refused.value.reason == "currency"
    await subscriptions.apply_discount(org.org.id, subscription.id, coupon_id=coupon.id)
    preview = await subscriptions.preview_next_invoice(org.org.id, subscription.id)
    assert [line.amount for line in preview.lines] == [500, -500]
    assert preview.total == 0


async def test_a_coupon_for_other_products_is_refused(org, keyring, frozen):
    customer = await paying_customer(org, keyring)
    price = await make_price(org.org.id, amount=1000)
    other = await make_product(org.org.id, "Other")
    subscription = await subscriptions.create_subscription(org.org.id, customer.id, price.id)
    coupon = await discounts.create_coupon(
        org.org.id, name="Other only", percent_off=10, duration="forever", products=[other.id]
    )
    with pytest.raises(DiscountRefused) as refused:
        await subscriptions.apply_discount(org.org.id, subscription.id, coupon_id=coupon.id)
    assert refused.value.reason == "not_applicable"
    assert (await discounts.get_coupon(org.org.id, coupon.id)).times_redeemed == 0


async def _subscriptions(org, keyring, count, *, customer=None):
    price = await make_price(org.org.id, amount=1000)
    result = []
    for _ in range(count):
        owner = customer or await make_customer(org.org.id)
        result.append(await subscriptions.create_subscription(org.org.id, owner.id, price.id, trial_days=14))
    return result


async def _outcomes(calls):
    results = await asyncio.gather(*calls, return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, DiscountRefused)]
    assert not unexpected, unexpected
    return [r for r in results if not isinstance(r, BaseException)], [
        r.reason for r in results if isinstance(r, DiscountRefused)
    ]


async def test_twenty_concurrent_redemptions_of_a_five_use_coupon_make_five(org, keyring, frozen):
    targets = await _subscriptions(org, keyring, 20)
    coupon = await discounts.create_coupon(
        org.org.id, name="First five", percent_off=50, duration="once", max_redemptions=5
    )
    applied, refused = await _outcomes(
        subscriptions.apply_discount(org.org.id, s.id, coupon_id=coupon.id) for s in targets
    )
    assert len(applied) == 5
    assert refused == ["used_up"] * 15
    row = await Coupon.select(Coupon.times_redeemed).where(Coupon.id == coupon.id).first()
    assert row["times_redeemed"] == 5
    assert await CouponRedemption.count().where(CouponRedemption.coupon == coupon.id) == 5


async def test_a_promotion_code_once_per_customer_holds_under_concurrency(org, keyring, frozen):
    customer = await make_customer(org.org.id)
    targets = await _subscriptions(org, keyring, 8, customer=customer)
    coupon = await discounts.create_coupon(org.org.id, name="Welcome", percent_off=10, duration="forever")
    code = await discounts.create_promotion_code(
        org.org.id, coupon.id, code="Welcome10", per_customer_limit=1
    )
    applied, refused = await _outcomes(
        subscriptions.apply_discount(org.org.id, s.id, promotion_code="wELCOME10") for s in targets
    )
    assert len(applied) == 1
    assert refused == ["already_used"] * 7
    row = await PromotionCode.select(PromotionCode.times_redeemed).where(PromotionCode.id == code.id).first()
    assert row["times_redeemed"] == 1


async def test_promotion_code_limits(org, keyring, frozen):
    targets = await _subscriptions(org, keyring, 4)
    coupon = await discounts.create_coupon(org.org.id, name="Duo", percent_off=15, duration="forever")
    await discounts.create_promotion_code(
        org.org.id, coupon.id, code="DUO", max_redemptions=2, expires_at=frozen.now() + timedelta(days=5)
    )
    await discounts.create_promotion_code(org.org.id, coupon.id, code="later", per_customer_limit=None)
    for target in targets[:2]:
        await subscriptions.apply_discount(org.org.id, target.id, promotion_code=" duo ")
    with pytest.raises(DiscountRefused) as used_up:
        await subscriptions.apply_discount(org.org.id, targets[2].id, promotion_code="DUO")
    assert used_up.value.reason == "used_up"
    with pytest.raises(DiscountRefused) as unknown:
        await subscriptions.apply_discount(org.org.id, targets[2].id, promotion_code="NOPE")
    assert unknown.value.reason == "unknown"
    frozen.advance(timedelta(days=6))
    await discounts.update_coupon(org.org.id, coupon.id, active=False)
    with pytest.raises(DiscountRefused) as inactive:
        await subscriptions.apply_discount(org.org.id, targets[3].id, promotion_code="LATER")
    assert inactive.value.reason == "inactive"
    assert await Order.count().where(Order.subscription == targets[3].id) == 0


async def test_a_seat_change_is_previewed_and_charged_with_the_percent_off(org, keyring, frozen):
    customer = await paying_customer(org, keyring)
    price = await make_price(org.org.id, amount=0, seat_amount=1000)
    subscription = await subscriptions.create_subscription(org.org.id, customer.id, price.id, seats=2)
    coupon = await discounts.create_coupon(org.org.id, name="Team tenth", percent_off=10, duration="forever")
    await subscriptions.apply_discount(org.org.id, subscription.id, coupon_id=coupon.id)
    frozen.advance(timedelta(days=14))
    preview = await subscriptions.preview_seat_change(org.org.id, subscription.id, 4)
    [line] = preview.discount_lines
    assert (line.description, line.amount) == ("Team tenth", -((preview.proration + 5) // 10))
    assert preview.proration_total == preview.proration + line.amount
    change = await subscriptions.change_seats(org.org.id, subscription.id, 4)
    assert change.order is not None
    assert change.order.total == preview.proration_total
    [(_, lines)] = [(o, lines) for o, lines in await orders_of(subscription.id) if o.id == change.order.id]
    assert [(kind, amount) for kind, _, _, amount in lines] == [
        ("proration", preview.proration),
        ("discount", line.amount),
    ]
