"""Renewals through the worker: crash safety, and a year of monthly renewals checked line by line."""

import asyncio
from datetime import UTC, datetime

import pytest

from server.billing import payments
from server.clock import FrozenClock, use_clock
from server.db.tables import Order, OrderLine, Subscription
from server.jobs import JOBS
from server.metering.service import UsageEventIn, ingest_events
from server.subscriptions import service as subscriptions
from server.wallet import service as wallet
from server.worker import JobContext, run_once
from tests.integration.factories import (
    make_customer,
    make_meter,
    make_price,
    make_product,
    metering,
)

GOOD_CARD, DECLINING_CARD, NEW_CARD = "4242424242424242", "4000000000000341", "5555555555554444"


def at(month, day, year=2027, hour=10):
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def context(settings, keyring):
    return JobContext(settings=settings, keyring=keyring)


async def add_card(org, keyring, customer, number):
    await payments.add_payment_method(
        org.org.id, customer.id, keyring=keyring, number=number, exp_month=12, exp_year=2035, cvc="123"
    )


async def order_lines(subscription_id):
    orders = await Order.objects().where(Order.subscription == subscription_id).order_by(Order.invoice_number)
    result = []
    for order in orders:
        lines = (
            await OrderLine.select(
                OrderLine.kind, OrderLine.quantity, OrderLine.unit_amount, OrderLine.amount
            )
            .where(OrderLine.order == order.id)
            .order_by(OrderLine.position)
        )
        result.append(
            {
                "reason": order.billing_reason,
                "lines": [(x["kind"], x["quantity"], x["unit_amount"], x["amount"]) for x in lines],
                "wallet": order.wallet_applied,
                "total": order.total,
                "status": order.status,
            }
        )
    return result


async def test_renewal_job_bills_each_period_once_even_when_run_concurrently(org, keyring, context):
    with use_clock(FrozenClock(at(1, 15))) as clock:
        customer = await make_customer(org.org.id)
        await add_card(org, keyring, customer, GOOD_CARD)
        price = await make_price(org.org.id, amount=1200)
        sub = await subscriptions.create_subscription(org.org.id, customer.id, price.id)
        clock.set(at(3, 16))  # two periods behind: the job catches up one period per pass
        await asyncio.gather(*(subscriptions.renew_due_subscriptions() for _ in range(4)))
        await asyncio.gather(*(run_once(JOBS, context) for _ in range(3)))
        orders = await order_lines(sub.id)
        assert [o["reason"] for o in orders] == ["subscription_create", *["subscription_cycle"] * 2]
        assert all(o["total"] == 1200 and o["status"] == "paid" for o in orders)
        row = await Subscription.select(Subscription.current_period_end).where(Subscription.id == sub.id)
        assert row[0]["current_period_end"] == at(4, 15)


async def test_a_year_of_monthly_renewals(org, keyring, context):
    """Team (1000 + 500/seat, 1,000 calls included then 20 per 100) upgraded to Business (3000 + 800/seat,
    5,000 included then 10 per 100) mid-cycle, seats changed up and down, a wallet credit, a declined renewal
    recovered by a new card. Every amount below is worked out by hand in the comments."""
    org_id = org.org.id
    with use_clock(FrozenClock(at(1, 31))) as clock:

        async def to(moment):
            clock.set(moment)
            await run_once(JOBS, context)

        async def usage(calls, moment):
            await ingest_events(
                org_id,
                [UsageEventIn(name="api_call", customer_id=customer.id, value=calls, occurred_at=moment)],
            )

        meter = await make_meter(org_id, "api_call")
        team = await make_price(
            org_id,
            await make_product(org_id, "Team"),
            amount=1000,
            seat_amount=500,
            max_seats=50,
            meters=[metering(meter, included=1000, unit_amount=20, unit_batch=100)],
        )
        business = await make_price(
            org_id,
            await make_product(org_id, "Business"),
            amount=3000,
            seat_amount=800,
            max_seats=50,
            meters=[metering(meter, included=5000, unit_amount=10, unit_batch=100)],
        )
        customer = await make_customer(org_id)
        await add_card(org, keyring, customer, GOOD_CARD)
        sub = await subscriptions.create_subscription(org_id, customer.id, team.id, seats=3)

        await usage(1250, at(2, 10))
        await to(at(2, 28))  # anchor day 31 → Feb 28
        await usage(900, at(3, 10))
        await to(at(3, 31))
        await to(at(4, 15))  # 15 of the 30 days of Mar 31 → Apr 30 left
        await subscriptions.change_plan(org_id, sub.id, business.id)
        await to(at(4, 30))
        await usage(6040, at(5, 20))
        await to(at(5, 31))
        await to(at(6, 10))  # 20 of the 30 days of May 31 → Jun 30 left
        await subscriptions.change_seats(org_id, sub.id, 5)
        await to(at(6, 30))
        await to(at(7, 31))
        await to(at(8, 24))  # 7 of the 31 days of Jul 31 → Aug 31 left
        await subscriptions.change_seats(org_id, sub.id, 4)
        await to(at(8, 31))
        await to(at(9, 30))
        await to(at(10, 5))
        await wallet.credit(org_id, customer.id, 1000, "USD", "promotional", "Welcome credit")
        await to(at(10, 31))
        await to(at(11, 20))
        await add_card(org, keyring, customer, DECLINING_CARD)
        await to(at(11, 30))
        assert (await subscriptions.get_subscription(org_id, sub.id)).status == "past_due"
        await to(at(12, 1))
        await add_card(org, keyring, customer, NEW_CARD)  # retries the failed renewal at once
        assert (await subscriptions.get_subscription(org_id, sub.id)).status == "active"
        await to(at(12, 31))
        await to(at(1, 31, year=2028))

        sub = await subscriptions.get_subscription(org_id, sub.id)
        assert (sub.status, sub.seats, sub.price) == ("active", 4, business.id)
        assert sub.current_period_end == at(2, 29, year=2028)

    team_month = [("base", 1, 1000, 1000), ("seats", 3, 500, 1500)]
    business_4 = [("base", 1, 3000, 3000), ("seats", 4, 800, 3200)]
    cycle = "subscription_cycle"
    expected = [
        ("subscription_create", team_month, 0, 2500, "paid"),  # Jan 31
        # Feb 28: 1,250 calls, 250 beyond 1,000 → 2.5 batches, half up → 3 x 20 = 60
        (cycle, [("usage", 3, 20, 60), *team_month], 0, 2560, "paid"),
        (cycle, team_month, 0, 2500, "paid"),  # Mar 31: 900 calls, all included
        # Apr 15: (5400 - 2500) x 15/30 = 1450
        ("subscription_update", [("proration", 1, 1450, 1450)], 0, 1450, "paid"),
        (cycle, [("base", 1, 3000, 3000), ("seats", 3, 800, 2400)], 0, 5400, "paid"),  # Apr 30
        # May 31: 6,040 calls, 1,040 beyond 5,000 → 10.4 batches → 10 x 10 = 100
        (cycle, [("usage", 10, 10, 100), ("base", 1, 3000, 3000), ("seats", 3, 800, 2400)], 0, 5500, "paid"),
        # Jun 10: 2 more seats, 1600 x 20/30 = 1066.67 → 1067
        ("subscription_update", [("proration", 1, 1067, 1067)], 0, 1067, "paid"),
        (cycle, [("base", 1, 3000, 3000), ("seats", 5, 800, 4000)], 0, 7000, "paid"),  # Jun 30
        (cycle, [("base", 1, 3000, 3000), ("seats", 5, 800, 4000)], 0, 7000, "paid"),  # Jul 31
        # Aug 31: one seat less from Aug 24, -800 x 7/31 = -180.65 → -181 credited
        (cycle, [*business_4, ("proration", 1, -181, -181)], 0, 6019, "paid"),
        (cycle, business_4, 0, 6200, "paid"),  # Sep 30
        (cycle, business_4, 1000, 5200, "paid"),  # Oct 31: the 1,000 wallet credit applied
        (cycle, business_4, 0, 6200, "paid"),  # Nov 30: declined, paid on Dec 1 with the new card
        (cycle, business_4, 0, 6200, "paid"),  # Dec 31
        (cycle, business_4, 0, 6200, "paid"),  # Jan 31 2028
    ]
    orders = await order_lines(sub.id)
    assert [(o["reason"], o["lines"], o["wallet"], o["total"], o["status"]) for o in orders] == expected
    assert await wallet.get_balance(org_id, customer.id, "USD") == 0


async def test_a_crash_between_renewal_and_charge_is_repaired_by_the_next_run(
    org, keyring, context, monkeypatch
):
    with use_clock(FrozenClock(at(1, 15))) as clock:
        customer = await make_customer(org.org.id)
        await add_card(org, keyring, customer, GOOD_CARD)
        sub = await subscriptions.create_subscription(
            org.org.id, customer.id, (await make_price(org.org.id, amount=900)).id
        )
        clock.set(at(2, 15))

        async def crash(org_id, order_id):
            raise RuntimeError("worker killed")

        with monkeypatch.context() as patch:
            patch.setattr(subscriptions.orders, "attempt_payment", crash)
            with pytest.raises(RuntimeError):
                await subscriptions.renew_due_subscriptions()
        assert [o["status"] for o in await order_lines(sub.id)] == ["paid", "pending"]
        # A job that runs at once leaves it alone: the request or renewal that made an order charges it
        # itself and tells its customer the outcome (a second charger made a portal say "declined" while
        # the payment went through).
        await run_once(JOBS, context)
        assert [o["status"] for o in await order_lines(sub.id)] == ["paid", "pending"]
        clock.advance(subscriptions.UNATTEMPTED_GRACE)
        await run_once(JOBS, context)
        orders = await order_lines(sub.id)
        assert [(o["total"], o["status"]) for o in orders] == [(900, "paid"), (900, "paid")]
