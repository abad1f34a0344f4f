"""The merchant's business at a glance (the console's home): active subscriptions, monthly recurring revenue,
churn this month, portal sessions, and the failed payments that need someone to act.

Definitions, so every figure can be checked by hand:
- active: subscriptions whose status is ``active`` or ``trialing``;
- MRR: per currency, the recurring price (base plus seats, metered usage left out) of ``active`` and
  ``past_due`` subscriptions per month, a yearly price counting one twelfth (rounded half away from zero);
- churn this month: subscriptions that ended since the first of the month (UTC), against those live then
  (started before it and not ended before it), as a percentage with one decimal;
- failed payments: orders still pending after at least one failed charge, oldest first.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from server import clock
from server.analytics.portal_analytics import sessions_opened
from server.db.tables import Order, Price, Subscription
from server.enums import Interval, OrderStatus, SubscriptionStatus
from server.proration import divide_rounding_half_away
from server.subscriptions.service import period_amount

ACTIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
PAYING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
SESSION_WINDOW = timedelta(days=30)
MONTHS_PER_YEAR = 12


class Churn(msgspec.Struct, frozen=True, kw_only=True):
    ended: int
    live_at_start: int
    rate_percent: float | None
    """None when nothing was live on the first of the month."""


class FailedPayment(msgspec.Struct, frozen=True, kw_only=True):
    order_id: UUID
    customer_id: UUID
    customer_email: str
    total: int
    currency: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    active_subscriptions: int
    mrr: dict[str, int]
    """Minor units per currency."""
    churn: Churn
    portal_sessions: int
    """Opened in the last ``SESSION_WINDOW``."""
    failed_payments: list[FailedPayment]


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def monthly_amount(price: Price, seats: int) -> int:
    """What a recurring price brings in per month (0 for a one-time price)."""
    amount = period_amount(price, seats)
    if price.interval == Interval.YEAR:
        return divide_rounding_half_away(amount, MONTHS_PER_YEAR)
    return amount if price.interval == Interval.MONTH else 0


async def _mrr(org_id: UUID) -> dict[str, int]:
    subscriptions = await Subscription.select(Subscription.price, Subscription.seats).where(
        Subscription.org == org_id, Subscription.status.is_in(list(PAYING))
    )
    if not subscriptions:
        return {}
    prices = {
        str(p.id): p
        for p in await Price.objects().where(
            Price.org == org_id, Price.id.is_in([s["price"] for s in subscriptions])
        )
    }
    totals: dict[str, int] = defaultdict(int)
    for row in subscriptions:
        price = prices[str(row["price"])]
        totals[price.currency] += monthly_amount(price, int(row["seats"]))
    return dict(sorted(totals.items()))


async def _churn(org_id: UUID, start: datetime) -> Churn:
    ended = await Subscription.count().where(Subscription.org == org_id, Subscription.ended_at >= start)
    live = await Subscription.count().where(
        Subscription.org == org_id,
        Subscription.started_at < start,
        Subscription.status.not_in([SubscriptionStatus.INCOMPLETE, SubscriptionStatus.INCOMPLETE_EXPIRED]),
        (Subscription.ended_at.is_null()) | (Subscription.ended_at >= start),
    )
    rate = round(100 * ended / live, 1) if live else None
    return Churn(ended=ended, live_at_start=live, rate_percent=rate)


async def failed_payments(org_id: UUID, *, limit: int = 50) -> list[FailedPayment]:
    orders = await (
        Order.select(
            Order.id,
            Order.customer,
            Order.total,
            Order.currency,
            Order.payment_attempts,
            Order.created_at,
            Order.next_payment_attempt_at,
            Order.customer.email,
        )
        .where(Order.org == org_id, Order.status == OrderStatus.PENDING, Order.payment_attempts > 0)
        .order_by(Order.created_at)
        .limit(limit)
    )
    return [
        FailedPayment(
            order_id=row["id"],
            customer_id=row["customer"],
            customer_email=row["customer.email"],
            total=int(row["total"]),
            currency=row["currency"],
            attempts=int(row["payment_attempts"]),
            created_at=row["created_at"],
            next_attempt_at=row["next_payment_attempt_at"],
        )
        for row in orders
    ]


async def overview(org_id: UUID) -> Overview:
    now = clock.now()
    return Overview(
        active_subscriptions=await Subscription.count().where(
            Subscription.org == org_id, Subscription.status.is_in(list(ACTIVE))
        ),
        mrr=await _mrr(org_id),
        churn=await _churn(org_id, month_start(now)),
        portal_sessions=await sessions_opened(org_id, now - SESSION_WINDOW, now),
        failed_payments=await failed_payments(org_id),
    )
