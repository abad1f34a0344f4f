"""The console's home figures, against numbers worked out by hand from the rows written here."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from server.analytics.merchant_overview import overview
from server.analytics.portal_analytics import SESSION_OPENED
from server.clock import FrozenClock, use_clock
from server.db.tables import Order, PortalEvent, Subscription
from server.enums import StaffRole
from tests.integration.factories import make_customer, make_price, make_product

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
JAN, FEB = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)


@pytest.fixture
def march():
    with use_clock(FrozenClock(NOW)) as frozen:
        yield frozen


async def _subscription(org_id, customer, price, status, *, started, seats=1, ended=None):
    row = Subscription(
        org=org_id,
        customer=customer.id,
        product=price.product,
        price=price.id,
        status=status,
        currency=price.currency,
        seats=seats,
        started_at=started,
        current_period_start=started,
        current_period_end=started + timedelta(days=30),
        ended_at=ended,
        canceled_at=ended,
        created_at=started,
        updated_at=started,
    )
    await row.save()


async def _order(org_id, customer, *, status, attempts, total=2500):
    await Order(
        org=org_id,
        customer=customer.id,
        status=status,
        billing_reason="subscription_cycle",
        currency="USD",
        subtotal=total,
        total=total,
        payment_attempts=attempts,
        next_payment_attempt_at=NOW + timedelta(days=2) if attempts else None,
        created_at=NOW - timedelta(days=3),
    ).save()


async def _session_opened(org_id, customer, at):
    await PortalEvent(
        org=org_id, customer=customer.id, actor="customer", name=SESSION_OPENED, created_at=at
    ).save()


async def _seed(org_id):
    customer = await make_customer(org_id)
    late = await make_customer(org_id, email="late-payer@example.com")
    product = await make_product(org_id)
    monthly = await make_price(org_id, product, amount=1000)
    seats = await make_price(org_id, product, amount=500, seat_amount=300)
    yearly = await make_price(org_id, product, amount=12006, interval="year")
    euro = await make_price(org_id, product, amount=2000, currency="EUR")
    await _subscription(org_id, customer, monthly, "active", started=JAN)  # 1000 USD
    await _subscription(org_id, customer, seats, "active", started=JAN, seats=3)  # 500 + 3 * 300
    await _subscription(org_id, customer, yearly, "trialing", started=FEB)  # active, no revenue yet
    await _subscription(org_id, customer, yearly, "active", started=FEB)  # 12006 / 12 = 1000.5 -> 1001
    await _subscription(org_id, customer, euro, "past_due", started=FEB)  # 2000 EUR, not active
    await _subscription(org_id, customer, monthly, "canceled", started=FEB, ended=NOW - timedelta(days=10))
    await _subscription(org_id, customer, monthly, "canceled", started=JAN, ended=FEB + timedelta(days=10))
    await _subscription(org_id, customer, monthly, "active", started=NOW - timedelta(days=5))  # 1000 USD
    await _subscription(org_id, customer, monthly, "incomplete", started=FEB)
    await _order(org_id, late, status="pending", attempts=2)
    await _order(org_id, customer, status="pending", attempts=0)
    await _order(org_id, customer, status="paid", attempts=1)
    for days_ago in (1, 29, 31):
        await _session_opened(org_id, customer, NOW - timedelta(days=days_ago))


async def test_the_figures_are_the_ones_worked_out_by_hand(org, march):
    await _seed(org.org.id)
    figures = await overview(org.org.id)
    assert figures.active_subscriptions == 5  # 3 active + 1 trialing + the one started this month
    assert figures.mrr == {"EUR": 2000, "USD": 1000 + 1400 + 1001 + 1000}
    # live on March 1st: both January ones, the trial, the yearly, the past-due, the one ended in March
    assert (figures.churn.ended, figures.churn.live_at_start, figures.churn.rate_percent) == (1, 6, 16.7)
    assert figures.portal_sessions == 2
    assert [(p.customer_email, p.total, p.attempts) for p in figures.failed_payments] == [
        ("late-payer@example.com", 2500, 2)
    ]


async def test_an_empty_merchant_has_no_churn_rate_and_nothing_to_chase(org, march):
    figures = await overview(org.org.id)
    assert (figures.active_subscriptions, figures.mrr, figures.portal_sessions) == (0, {}, 0)
    assert figures.churn.rate_percent is None
    assert figures.failed_payments == []


async def test_the_home_page_shows_the_figures_to_a_viewer(org, march, staff_as):
    await _seed(org.org.id)
    viewer = await staff_as(StaffRole.VIEWER)
    page = (await viewer.get("/console")).text

    def figure(name):
        return re.search(rf'data-figure="{name}">([^<]+)<', page).group(1)

    assert figure("active") == "5"
    assert figure("mrr-USD") == "$44.01"
    assert figure("mrr-EUR") == "€20.00"
    assert figure("churn") == "16.7 %"
    assert figure("sessions") == "2"
    assert "late-payer@example.com" in page
    assert "$25.00" in page
