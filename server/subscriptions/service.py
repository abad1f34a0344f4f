"""Subscriptions: create, renew, cancel and uncancel, change plan or seats, pause and resume, previews.

Every transition is a conditional UPDATE on ``version`` (and on the period end for renewals) inside one
``write_transaction()`` with the webhook event it emits, so concurrent requests and re-run jobs make at most
one transition. Charges go through ``orders.create_order`` (inside the transaction) and
``orders.attempt_payment`` (after it commits). Positive prorations are charged at once; negative ones wait as
pending credit lines (``metadata["pending_prorations"]``) for the next renewal order, which puts any excess
in the wallet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec

from server import clock
from server.benefits import grants
from server.billing import lifecycle, orders
from server.billing.orders import LineDraft
from server.billing.schemas import Discount, SubscriptionOut, current_discount
from server.db.engine import write_transaction
from server.db.tables import (
    Customer,
    Meter,
    Order,
    Organization,
    PaymentMethod,
    Price,
    PriceMeter,
    Product,
    Seat,
    SpendCap,
    Subscription,
)
from server.discounts import service as discounts
from server.enums import (
    LIVE,
    BillingReason,
    Interval,
    MeterAggregation,
    OrderLineKind,
    OrderStatus,
    RefundDestination,
)
from server.enums import SubscriptionStatus as Status
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.metering.service import billed_batches, capped_overage, usage_totals
from server.money import format_money
from server.proration import next_boundary, period_boundary, prorate
from server.schemas.portal_settings import Features, RefundPolicy, load_portal_settings
from server.tax import service as tax
from server.tax.service import LineTax, TaxLine
from server.wallet import service as wallet
from server.webhooks.outbox import record_event

BILLS_USAGE = (Status.ACTIVE, Status.PAST_DUE)
PENDING_PRORATIONS = "pending_prorations"
MAX_TRIAL_DAYS = 730


class ChangePreview(msgspec.Struct, kw_only=True):
    """What a plan or seat change would do. ``proration`` > 0 is charged now; < 0 is credited at renewal."""

    subscription_id: UUID
    price_id: UUID
    seats: int
    currency: str
    current_amount: int
    new_amount: int
    effective: Literal["immediately", "period_end"]
    effective_at: datetime
    proration: int
    """The proration as priced (before tax for tax-exclusive prices)."""
    proration_tax: int = 0
    proration_total: int = 0
    """What is charged now (> 0) or credited at renewal (< 0), tax included (and discounted)."""
    tax_lines: list[TaxLine] = msgspec.field(default_factory=list)
    discount_lines: list[LineDraft] = msgspec.field(default_factory=list)
    """The discount taken off the proration (negative lines named after the coupon), before tax."""
    discount: Discount | None = None
    """The discount the subscription would run with: its own, or the one a promotion code would apply."""


class InvoicePreview(msgspec.Struct, kw_only=True):
    subscription_id: UUID
    currency: str
    period_start: datetime
    period_end: datetime
    lines: list[LineDraft]
    line_taxes: list[LineTax]
    """Each line's net and tax, in the order of ``lines``."""
    subtotal: int
    """The lines' nets."""
    tax_amount: int
    tax_lines: list[TaxLine]
    reverse_charge: bool
    wallet_applied: int
    total: int


@dataclass(frozen=True)
class Change:
    """What a plan or seat change did: the subscription after it, and the proration order it charged (after
    the payment attempt: ``paid``, or ``pending`` with ``last_payment_error`` when the card was declined);
    None when nothing was charged now."""

    subscription: Subscription
    order: Order | None


class RefundPreview(msgspec.Struct, kw_only=True, frozen=True):
    order_id: UUID
    invoice_number: str | None
    amount: int


class CancelPreview(msgspec.Struct, kw_only=True, frozen=True):
    """What ``cancel_subscription`` would do now, computed by the same code that then does it."""

    subscription_id: UUID
    currency: str
    at_period_end: bool
    ends_at: datetime
    refund_destination: Literal["none", "payment_method", "wallet"]
    refunds: list[RefundPreview]
    """The unused time of the current period given back, per paid order."""
    refund_total: int
    amount_owed: int
    """Still unpaid on the subscription's orders: cancelling does not cancel what is owed."""


# -- reading -------------------------------------------------------------------------------------------


async def get_subscription(
    org_id: UUID, subscription_id: UUID, *, customer_id: UUID | None = None
) -> Subscription:
    query = Subscription.objects().where(Subscription.org == org_id, Subscription.id == subscription_id)
    if customer_id is not None:
        query = query.where(Subscription.customer == customer_id)
    subscription = await query.first()
    if subscription is None:
        raise NotFound(f"no subscription {subscription_id}")
    return subscription


async def lock_subscription(
    org_id: UUID, subscription_id: UUID, *, customer_id: UUID | None = None
) -> tuple[int, str]:
    """Take the subscription's row lock until the caller's transaction ends (a write that changes nothing),
    so writes that depend on its seats or status queue behind each other; its seats and status (NotFound
    if there is none)."""
    subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    rows = await Subscription.raw(
        "UPDATE ss_subscription SET updated_at = updated_at WHERE id = {} RETURNING seats, status",
        subscription.id,
    )
    return int(rows[0]["seats"]), str(rows[0]["status"])


async def list_subscriptions(
    org_id: UUID, *, customer_id: UUID | None = None, status: str | None = None
) -> list[Subscription]:
    query = Subscription.objects().where(Subscription.org == org_id)
    if customer_id is not None:
        query = query.where(Subscription.customer == customer_id)
    if status is not None:
        if status not in set(Status):
            raise Invalid(f"status must be one of: {', '.join(Status)}")
        query = query.where(Subscription.status == status)
    return list(await query.order_by(Subscription.created_at, ascending=False))


async def _price(org_id: UUID, price_id: Any) -> Price:
    price = await Price.objects().where(Price.org == org_id, Price.id == price_id).first()
    if price is None:
        raise NotFound(f"no price {price_id}")
    return price


async def price_with_product(org_id: UUID, price_id: Any) -> tuple[Price, Product]:
    """A price and its product, read in one query (the product joined)."""
    price = await Price.objects(Price.product).where(Price.org == org_id, Price.id == price_id).first()
    if price is None:
        raise NotFound(f"no price {price_id}")
    product: Product = price.product
    price.product = product.id  # as every other price read gives it: the product's id
    return price, product


async def _features(org_id: UUID) -> Features:
    row = await Organization.select(Organization.branding, Organization.portal_settings).where(
        Organization.id == org_id
    )
    return load_portal_settings(row[0]).features


def period_amount(price: Price, seats: int) -> int:
    """What one period of ``price`` costs with ``seats`` (base plus seats)."""
    return int(price.amount) + int(price.seat_amount) * seats


def _check_seats(price: Price, seats: int) -> None:
    if seats < price.min_seats or (price.max_seats is not None and seats > price.max_seats):
        most = "no maximum" if price.max_seats is None else f"at most {price.max_seats}"
        raise Invalid(f"this plan takes at least {price.min_seats} seats and {most}, not {seats}")


def _anchor(subscription: Subscription) -> datetime:
    """The moment the billing cycle counts its periods from: the trial end, or the start."""
    return subscription.trial_end or subscription.started_at


# -- transitions -----------------------------------------------------------------------------------------


def _require_live(subscription: Subscription) -> None:
    if subscription.status not in LIVE:
        raise Conflict(f"the subscription is {subscription.status}; it can no longer be changed")


async def _charge(org_id: UUID, order: Order | None) -> Order | None:
    """Try to collect a pending order (after its transaction committed); failures go to dunning."""
    if order is None or order.status != OrderStatus.PENDING:
        return order
    await orders.attempt_payment(org_id, order.id)
    return await orders.get_order(org_id, order.id)


async def create_subscription(
    org_id: UUID,
    customer_id: UUID,
    price_id: UUID,
    *,
    seats: int = 1,
    payment_method_id: UUID | None = None,
    trial_days: int | None = None,
) -> Subscription:
    """Start a subscription now: a trial when the price (or ``trial_days``) has one, otherwise a first order
    that is charged at once (a declined card leaves the subscription past_due, in dunning)."""
    customer = (
        await Customer.objects()
        .where(Customer.org == org_id, Customer.id == customer_id, Customer.deleted_at.is_null())
        .first()
    )
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    price = await _price(org_id, price_id)
    if price.archived_at is not None or price.interval == Interval.ONE_TIME:
        raise Invalid("a subscription needs a recurring price that is not archived")
    _check_seats(price, seats)
    if payment_method_id is not None and not await PaymentMethod.exists().where(
        PaymentMethod.org == org_id,
        PaymentMethod.customer == customer_id,
        PaymentMethod.id == payment_method_id,
    ):
        raise NotFound(f"no payment method {payment_method_id} for this customer")
    trial = price.trial_days if trial_days is None else trial_days
    if not 0 <= trial <= MAX_TRIAL_DAYS:
        raise Invalid(f"trial_days must be between 0 and {MAX_TRIAL_DAYS}")
    product = await Product.objects().where(Product.id == price.product).first()
    assert product is not None
    now = clock.now()
    trial_end = now + timedelta(days=trial) if trial else None
    subscription = Subscription(
        id=uuid.uuid4(),
        org=org_id,
        customer=customer_id,
        product=product.id,
        price=price.id,
        status=Status.TRIALING if trial_end else Status.ACTIVE,
        currency=price.currency,
        seats=seats,
        started_at=now,
        current_period_start=now,
        current_period_end=trial_end or period_boundary(now, price.interval, 1),
        trial_end=trial_end,
        default_payment_method=payment_method_id,
        created_at=now,
        updated_at=now,
    )
    order = None
    async with write_transaction():
        await subscription.save()
        if trial_end is None:
            order = await orders.create_order(
                org_id,
                customer_id,
                subscription_id=subscription.id,
                billing_reason=BillingReason.SUBSCRIPTION_CREATE,
                currency=price.currency,
                lines=_recurring_lines(price, product, seats, now, subscription.current_period_end),
                period_start=now,
                period_end=subscription.current_period_end,
            )
        await record_event(org_id, "subscription.created", SubscriptionOut.of(subscription))
        await grants.sync_grants(org_id, subscription)
    await _charge(org_id, order)
    return await get_subscription(org_id, subscription.id)


# -- lines -------------------------------------------------------------------------------------------------


def _recurring_lines(
    price: Price, product: Product, seats: int, start: datetime, end: datetime
) -> list[LineDraft]:
    """The base price (kept even at zero for a free plan, so an order is never empty) and the seats."""
    lines = []
    if price.amount or not price.seat_amount:
        lines.append(_line(OrderLineKind.BASE, product.name, 1, int(price.amount), price, start, end))
    if price.seat_amount:
        lines.append(
            _line(
                OrderLineKind.SEATS,
                f"{product.name}: seats",
                seats,
                int(price.seat_amount),
                price,
                start,
                end,
            )
        )
    return lines


def _line(
    kind: OrderLineKind,
    description: str,
    quantity: int,
    unit_amount: int,
    price: Price,
    start: datetime,
    end: datetime,
    *,
    meter_id: UUID | None = None,
) -> LineDraft:
    return LineDraft(
        kind=kind,
        description=description,
        quantity=quantity,
        unit_amount=unit_amount,
        amount=quantity * unit_amount,
        price_id=price.id,
        meter_id=meter_id,
        period_start=start,
        period_end=end,
    )


async def _usage_lines(
    org_id: UUID, subscription: Subscription, price: Price, start: datetime, end: datetime
) -> list[LineDraft]:
    """Usage beyond the included units, billed per started ``unit_batch`` rounded half up."""
    links = await PriceMeter.objects().where(PriceMeter.org == org_id, PriceMeter.price == price.id)
    if not links:
        return []
    meters = {
        str(m.id): m for m in await Meter.objects().where(Meter.id.is_in([link.meter for link in links]))
    }
    totals = await usage_totals(
        org_id, subscription.customer, [m.event_name for m in meters.values()], start, end
    )
    lines = []
    for link in links:
        meter = meters[str(link.meter)]
        usage = totals[meter.event_name]
        used = usage.total if meter.aggregation == MeterAggregation.SUM else usage.event_count
        over = max(used - int(link.included_units), 0)
        batches = billed_batches(used, int(link.included_units), int(link.unit_batch))
        if batches:
            description = f"{meter.name}: {over} {meter.unit_name} beyond {link.included_units} included"
            lines.append(
                _line(
                    OrderLineKind.USAGE,
                    description,
                    batches,
                    int(link.unit_amount),
                    price,
                    start,
                    end,
                    meter_id=meter.id,
                )
            )
    return lines + await _spend_cap_line(org_id, subscription, lines, price, start, end)


async def _spend_cap_line(
    org_id: UUID,
    subscription: Subscription,
    usage: list[LineDraft],
    price: Price,
    start: datetime,
    end: datetime,
) -> list[LineDraft]:
    """The credit that brings the period's usage lines down to the subscription's spend cap, exactly; none
    while they stay within it."""
    row = await SpendCap.select(SpendCap.amount).where(SpendCap.subscription == subscription.id).first()
    cap = None if row is None else int(row["amount"])
    overage = sum(line.amount for line in usage)
    beyond = overage - capped_overage(overage, cap)
    if beyond <= 0:
        return []
    shown = format_money(overage - beyond, subscription.currency)
    description = f"Spend cap of {shown}: usage beyond it is not billed"
    return [_line(OrderLineKind.USAGE, description, 1, -beyond, price, start, end)]


def _metadata(subscription: Subscription) -> dict[str, Any]:
    value = subscription.metadata
    if isinstance(value, str | bytes):
        value = msgspec.json.decode(value or b"{}")
    return dict(value or {})


def _pending_credits(subscription: Subscription) -> list[LineDraft]:
    return msgspec.convert(
        _metadata(subscription).get(PENDING_PRORATIONS, []), list[LineDraft], from_attributes=True
    )


def _with_pending_credits(subscription: Subscription, credits: list[LineDraft]) -> str:
    metadata = _metadata(subscription)
    metadata[PENDING_PRORATIONS] = msgspec.to_builtins(credits)
    if not credits:
        del metadata[PENDING_PRORATIONS]
    return msgspec.json.encode(metadata).decode()


class _Cycle(msgspec.Struct, kw_only=True):
    """The next period of a subscription and what its renewal order would hold."""

    price: Price
    product: Product
    start: datetime
    end: datetime
    lines: list[LineDraft]
    credits_used: bool
    discount_used: bool
    """A discount reduced this renewal: it has one period fewer left afterwards."""


def _resuming(subscription: Subscription, at: datetime) -> bool:
    """A subscription paused for a number of periods that resumes by ``at``."""
    return (
        subscription.status == Status.PAUSED
        and subscription.resumes_at is not None
        and subscription.resumes_at <= at
    )


async def _next_cycle(org_id: UUID, subscription: Subscription, discount: Discount | None = None) -> _Cycle:
    """``discount``: counted instead of the running one (a coupon's preview)."""
    price, product = await price_with_product(org_id, subscription.pending_price or subscription.price)
    current = await _price(org_id, subscription.price) if subscription.pending_price else price
    start = subscription.current_period_end
    end = next_boundary(_anchor(subscription), price.interval, start)
    lines: list[LineDraft] = []
    if subscription.status in BILLS_USAGE:
        lines += await _usage_lines(org_id, subscription, current, subscription.current_period_start, start)
    if subscription.status != Status.PAUSED or _resuming(subscription, start):
        lines += _recurring_lines(price, product, subscription.seats, start, end)
    discount = (discount or current_discount(subscription.discount)) if lines else None
    lines += await discounts.discount_lines(org_id, discount, lines, renewal=True)
    credits = _pending_credits(subscription) if lines else []
    return _Cycle(
        price=price,
        product=product,
        start=start,
        end=end,
        lines=lines + credits,
        credits_used=bool(credits),
        discount_used=discount is not None,
    )


# -- renewal -----------------------------------------------------------------------------------------------


async def renew_subscription(org_id: UUID, subscription_id: UUID) -> Order | None:
    """Close a period that has ended: end the subscription if it was set to cancel, otherwise move to the
    next period (applying a scheduled plan change) and bill it. Claimed with a conditional UPDATE on the
    period end, so a re-run or a second worker never bills a period twice. Returns the order, if any."""
    order = None
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id)
        if subscription.status not in LIVE or subscription.current_period_end > clock.now():
            return None
        if subscription.cancel_at_period_end:
            await lifecycle.end(subscription, Status.CANCELED, at=subscription.current_period_end)
            return None
        cycle = await _next_cycle(org_id, subscription)
        previous_product = subscription.product
        resuming = _resuming(subscription, cycle.start)
        subscription = await lifecycle.apply_change(
            subscription,
            {
                Subscription.current_period_start: cycle.start,
                Subscription.current_period_end: cycle.end,
                Subscription.price: cycle.price.id,
                Subscription.product: cycle.product.id,
                Subscription.pending_price: None,
                Subscription.status: (
                    Status.ACTIVE
                    if subscription.status == Status.TRIALING or resuming
                    else subscription.status
                ),
                Subscription.paused_at: None if resuming else subscription.paused_at,
                Subscription.resumes_at: None if resuming else subscription.resumes_at,
                Subscription.metadata: (
                    _with_pending_credits(subscription, []) if cycle.credits_used else subscription.metadata
                ),
                Subscription.discount: _discount_after(subscription, cycle),
            },
            current_period_end=cycle.start,
        )
        if cycle.lines:
            order = await orders.create_order(
                org_id,
                subscription.customer,
                subscription_id=subscription.id,
                billing_reason=BillingReason.SUBSCRIPTION_CYCLE,
                currency=subscription.currency,
                lines=cycle.lines,
                period_start=cycle.start,
                period_end=cycle.end,
            )
        await record_event(org_id, "subscription.updated", SubscriptionOut.of(subscription))
        if subscription.product != previous_product or resuming:
            await grants.sync_grants(org_id, subscription)
    return await _charge(org_id, order)


def _discount_after(subscription: Subscription, cycle: _Cycle) -> str:
    """The discount once this renewal is billed: a period fewer left, or gone after its last."""
    discount = current_discount(subscription.discount)
    if cycle.discount_used and discount is not None:
        discount = discounts.after_renewal(discount)
    return discounts.stored(discount)


UNATTEMPTED_GRACE = timedelta(minutes=5)
"""How long a subscription order may stay never attempted before the renewals job charges it."""


async def renew_due_subscriptions(limit: int = 50) -> int:
    """Renew (or end) up to ``limit`` subscriptions whose period has ended; the renewals job. First it charges
    subscription orders that were committed but never attempted (a crash between the two steps), once they
    are ``UNATTEMPTED_GRACE`` old: a younger one is still being charged by the request that made it, which
    must tell its customer what became of the payment."""
    unattempted = await (
        Order.select(Order.id, Order.org)
        .where(
            Order.status == OrderStatus.PENDING,
            Order.subscription.is_not_null(),
            Order.payment_attempts == 0,
            Order.next_payment_attempt_at.is_null(),
            Order.created_at <= clock.now() - UNATTEMPTED_GRACE,
        )
        .limit(limit)
    )
    for row in unattempted:
        await orders.attempt_payment(uuid.UUID(str(row["org"])), uuid.UUID(str(row["id"])))
    due = await (
        Subscription.select(Subscription.id, Subscription.org)
        .where(Subscription.status.is_in(list(LIVE)), Subscription.current_period_end <= clock.now())
        .order_by(Subscription.current_period_end)
        .limit(limit)
    )
    for row in due:
        try:
            await renew_subscription(uuid.UUID(str(row["org"])), uuid.UUID(str(row["id"])))
        except Conflict:
            continue  # another worker renewed it first
    return len(unattempted) + len(due)


# -- ending ------------------------------------------------------------------------------------------------


def _refund_policy(
    features: Features, customer_id: UUID | None, at_period_end: bool, refund: RefundPolicy | None
) -> RefundPolicy:
    """Where the unused time goes on an immediate cancel: the merchant's ``immediate_cancel_refund`` unless
    the API chose another policy; the portal may only take the merchant's choice or none."""
    if customer_id is not None and not at_period_end:
        if not features.immediate_cancel:
            raise Forbidden("this merchant only lets subscriptions end at the end of the period")
        if refund not in (None, "none", features.immediate_cancel_refund):
            raise Forbidden("this refund option is not offered")
    return refund or features.immediate_cancel_refund


async def _unused_time_refunds(
    org_id: UUID, subscription: Subscription, policy: str, at: datetime
) -> list[tuple[Order, int]]:
    """What ending ``subscription`` at ``at`` refunds: the share of each paid order covering ``at`` that lies
    after it (to the second), never more than is left to refund, and to a card no more than the card paid."""
    if policy == "none" or subscription.status == Status.TRIALING:
        return []
    paid = await Order.objects().where(
        Order.org == org_id,
        Order.subscription == subscription.id,
        Order.status.is_in([OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED]),
        Order.period_start <= at,
        Order.period_end > at,
    )
    refunds = []
    for order in paid:
        assert order.period_start is not None
        assert order.period_end is not None
        value, refunded = int(order.total) + int(order.wallet_applied), int(order.refunded_amount)
        amount = min(-prorate(value, 0, order.period_start, order.period_end, at), value - refunded)
        if policy == RefundDestination.PAYMENT_METHOD:
            amount = min(amount, int(order.total) - refunded)  # the rest was paid with wallet credit
        if amount > 0:
            refunds.append((order, amount))
    return refunds


async def amount_owed(org_id: UUID, subscription_id: Any) -> int:
    """What the subscription's unpaid (pending) orders still ask for."""
    rows = await Order.select(Order.total).where(
        Order.org == org_id, Order.subscription == subscription_id, Order.status == OrderStatus.PENDING
    )
    return sum(int(row["total"]) for row in rows)


async def preview_cancel(
    org_id: UUID,
    subscription_id: UUID,
    *,
    customer_id: UUID | None = None,
    at_period_end: bool = True,
    refund: RefundPolicy | None = None,
) -> CancelPreview:
    """What ``cancel_subscription`` with the same arguments would do now: when it ends, what goes back
    where, and what is still owed."""
    features = await _features(org_id)
    policy = _refund_policy(features, customer_id, at_period_end, refund)
    subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    _require_live(subscription)
    now = clock.now()
    refunds = [] if at_period_end else await _unused_time_refunds(org_id, subscription, policy, now)
    return CancelPreview(
        subscription_id=subscription.id,
        currency=subscription.currency,
        at_period_end=at_period_end,
        ends_at=subscription.current_period_end if at_period_end else now,
        refund_destination="none" if at_period_end else policy,
        refunds=[
            RefundPreview(order_id=order.id, invoice_number=order.invoice_number, amount=amount)
            for order, amount in refunds
        ],
        refund_total=sum(amount for _, amount in refunds),
        amount_owed=await amount_owed(org_id, subscription.id),
    )


async def cancel_subscription(
    org_id: UUID,
    subscription_id: UUID,
    *,
    customer_id: UUID | None = None,
    at_period_end: bool = True,
    reason: str | None = None,
    comment: str = "",
    refund: RefundPolicy | None = None,
) -> Subscription:
    """Cancel at the period end (benefits stay until then) or now, refunding the unused time of the current
    period as the merchant's ``immediate_cancel_refund`` says (the merchant API may choose another policy);
    ``preview_cancel`` tells what this will do."""
    features = await _features(org_id)
    if reason is not None and reason not in features.cancellation_reasons:
        allowed = ", ".join(features.cancellation_reasons)
        raise Invalid(f"reason must be one of: {allowed}")
    if len(comment) > 2000:
        raise Invalid("the comment is limited to 2,000 characters")
    policy = _refund_policy(features, customer_id, at_period_end, refund)
    now = clock.now()
    reasons = {
        Subscription.canceled_at: now,
        Subscription.cancellation_reason: reason,
        Subscription.cancellation_comment: comment,
    }
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        _require_live(subscription)
        if at_period_end:
            if subscription.cancel_at_period_end:
                raise Conflict("the subscription is already set to end at the end of the period")
            subscription = await lifecycle.apply_change(
                subscription, {**reasons, Subscription.cancel_at_period_end: True}
            )
            await record_event(org_id, "subscription.canceled", SubscriptionOut.of(subscription))
            return subscription
        refunds = await _unused_time_refunds(org_id, subscription, policy, now)
        subscription = await lifecycle.end(subscription, Status.CANCELED, reasons, at=now)
        for order, amount in refunds:
            await orders.refund_order(
                org_id, order.id, amount, policy, reason="unused time after cancellation"
            )
    return subscription


async def uncancel_subscription(
    org_id: UUID, subscription_id: UUID, *, customer_id: UUID | None = None
) -> Subscription:
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        _require_live(subscription)
        if not subscription.cancel_at_period_end:
            raise Conflict("the subscription is not set to cancel")
        subscription = await lifecycle.apply_change(
            subscription,
            {
                Subscription.cancel_at_period_end: False,
                Subscription.canceled_at: None,
                Subscription.cancellation_reason: None,
                Subscription.cancellation_comment: "",
            },
        )
        await record_event(org_id, "subscription.uncanceled", SubscriptionOut.of(subscription))
    return subscription


# -- plan and seat changes ---------------------------------------------------------------------------------


async def _plan_change_target(
    org_id: UUID, subscription: Subscription, price_id: UUID, customer_id: UUID | None, features: Features
) -> tuple[Price, Price]:
    """(current price, target price) after checking the switch is allowed. The portal (``customer_id``
    given) also needs plan changes turned on, a product shown in the portal and allowed by ``plan_switches``;
    the merchant API may switch to any live price. Currency and interval never change mid-subscription."""
    _require_live(subscription)
    current = await _price(org_id, subscription.price)
    target = await _price(org_id, price_id)
    if target.id == current.id:
        raise Invalid("the subscription is already on this price")
    if target.archived_at is not None or target.interval == Interval.ONE_TIME:
        raise Invalid("switch only to a recurring price that is not archived")
    if target.currency != subscription.currency or target.interval != current.interval:
        raise Invalid(
            f"switch only to a price billed in {subscription.currency} every {current.interval}, "
            f"like the current one"
        )
    if customer_id is not None:
        if not features.plan_change:
            raise Forbidden("plan changes are turned off for this portal")
        product = await Product.objects().where(Product.id == target.product).first()
        assert product is not None
        allowed = features.plan_switches.get(str(subscription.product))
        if product.archived_at is not None or not product.visible_in_portal:
            raise Forbidden("this plan is not offered in the portal")
        if allowed is not None and str(product.id) not in allowed and product.id != subscription.product:
            raise Forbidden("the current plan cannot be switched to this one")
    _check_seats(target, subscription.seats)
    return current, target


def _preview(
    subscription: Subscription,
    current: Price,
    target: Price,
    seats: int,
    timing: Literal["immediately", "period_end"],
) -> ChangePreview:
    now = clock.now()
    old_amount, new_amount = period_amount(current, subscription.seats), period_amount(target, seats)
    immediate = timing == "immediately" or subscription.status == Status.TRIALING
    charges_now = immediate and subscription.status != Status.TRIALING
    return ChangePreview(
        subscription_id=subscription.id,
        price_id=target.id,
        seats=seats,
        currency=subscription.currency,
        current_amount=old_amount,
        new_amount=new_amount,
        effective="immediately" if immediate else "period_end",
        effective_at=now if immediate else subscription.current_period_end,
        proration=(
            prorate(
                old_amount,
                new_amount,
                subscription.current_period_start,
                subscription.current_period_end,
                now,
            )
            if charges_now
            else 0
        ),
    )


async def _with_tax(
    subscription: Subscription, preview: ChangePreview, price: Price, discount: Discount | None
) -> ChangePreview:
    """The preview with the discount and tax of its proration, computed as the proration order will."""
    line = _line(
        OrderLineKind.PRORATION,
        "Proration",
        1,
        preview.proration,
        price,
        preview.effective_at,
        subscription.current_period_end,
    )
    off = await discounts.discount_lines(subscription.org, discount, [line], renewal=False)
    taxed = await tax.compute(subscription.org, subscription.customer, [line, *off])
    preview.proration_tax = taxed.tax_amount
    preview.proration_total = taxed.total
    preview.tax_lines = taxed.tax_lines
    preview.discount_lines = off
    preview.discount = discount
    return preview


def _plan_timing(
    features: Features, current: Price, target: Price, seats: int
) -> Literal["immediately", "period_end"]:
    upgrade = period_amount(target, seats) > period_amount(current, seats)
    return features.upgrade_timing if upgrade else features.downgrade_timing


async def preview_plan_change(
    org_id: UUID,
    subscription_id: UUID,
    price_id: UUID,
    *,
    customer_id: UUID | None = None,
    promotion_code: str | None = None,
) -> ChangePreview:
    """What ``change_plan`` would do now: when it takes effect and the proration it charges or credits,
    with the discount the subscription has, or the one ``promotion_code`` would apply (refused with
    ``DiscountRefused`` when it cannot be redeemed)."""
    features = await _features(org_id)
    subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    current, target = await _plan_change_target(org_id, subscription, price_id, customer_id, features)
    timing = _plan_timing(features, current, target, subscription.seats)
    discount = current_discount(subscription.discount)
    if promotion_code:
        discount = await discounts.quote(
            org_id,
            subscription.customer,
            currency=subscription.currency,
            product_id=target.product,
            code=promotion_code,
        )
    return await _with_tax(
        subscription, _preview(subscription, current, target, subscription.seats, timing), target, discount
    )


async def change_plan(
    org_id: UUID,
    subscription_id: UUID,
    price_id: UUID,
    *,
    customer_id: UUID | None = None,
    promotion_code: str | None = None,
) -> Change:
    """Switch plans: at once with a proration (upgrades by default) or scheduled for the period end
    (downgrades by default), as the merchant's ``upgrade_timing`` / ``downgrade_timing`` say. A
    ``promotion_code`` is redeemed in the same transaction and its discount applies from this change on."""
    features = await _features(org_id)
    order = None
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        current, target = await _plan_change_target(org_id, subscription, price_id, customer_id, features)
        preview = _preview(
            subscription,
            current,
            target,
            subscription.seats,
            _plan_timing(features, current, target, subscription.seats),
        )
        discount = current_discount(subscription.discount)
        redeemed: dict[Any, Any] = {}
        if promotion_code:
            discount = await discounts.redeem(
                org_id,
                subscription.customer,
                subscription.id,
                currency=subscription.currency,
                product_id=target.product,
                code=promotion_code,
            )
            redeemed[Subscription.discount] = discounts.stored(discount)
        if preview.effective == "period_end":
            subscription = await lifecycle.apply_change(
                subscription, {Subscription.pending_price: target.id, **redeemed}
            )
            await record_event(org_id, "subscription.updated", SubscriptionOut.of(subscription))
        else:
            product = await Product.objects().where(Product.id == target.product).first()
            assert product is not None
            old_product = await Product.objects().where(Product.id == current.product).first()
            description = f"Proration: {old_product.name if old_product else ''} → {product.name}"
            changes = {
                Subscription.price: target.id,
                Subscription.product: target.product,
                Subscription.pending_price: None,
                **redeemed,
            }
            subscription, order = await _change_now(
                subscription, changes, preview, target, description, discount
            )
            await grants.sync_grants(org_id, subscription)
    charged = await _charge(org_id, order)
    return Change(await get_subscription(org_id, subscription_id), charged)


async def _change_now(
    subscription: Subscription,
    changes: dict[Any, Any],
    preview: ChangePreview,
    price: Price,
    description: str,
    discount: Discount | None,
) -> tuple[Subscription, Order | None]:
    """Apply a change at once: charge a positive proration now (less the running discount), keep a negative
    one for the next renewal."""
    line = _line(
        OrderLineKind.PRORATION,
        description,
        1,
        preview.proration,
        price,
        preview.effective_at,
        subscription.current_period_end,
    )
    if preview.proration < 0:
        changes[Subscription.metadata] = _with_pending_credits(
            subscription, [*_pending_credits(subscription), line]
        )
    subscription = await lifecycle.apply_change(subscription, changes)
    order = None
    if preview.proration > 0:
        order = await orders.create_order(
            subscription.org,
            subscription.customer,
            subscription_id=subscription.id,
            billing_reason=BillingReason.SUBSCRIPTION_UPDATE,
            currency=subscription.currency,
            lines=[line, *await discounts.discount_lines(subscription.org, discount, [line], renewal=False)],
            period_start=preview.effective_at,
            period_end=subscription.current_period_end,
        )
    await record_event(subscription.org, "subscription.updated", SubscriptionOut.of(subscription))
    return subscription, order


async def assigned_seat_count(subscription_id: Any) -> int:
    """Seats given to someone (pending or claimed): the floor for the seat count."""
    count: int = await Seat.count().where(Seat.subscription == subscription_id, Seat.status != "revoked")
    return count


async def _seat_change(
    org_id: UUID, subscription: Subscription, seats: int, customer_id: UUID | None
) -> tuple[Price, ChangePreview]:
    _require_live(subscription)
    if customer_id is not None and not (await _features(org_id)).seat_change:
        raise Forbidden("seat changes are turned off for this portal")
    price = await _price(org_id, subscription.price)
    _check_seats(price, seats)
    if seats == subscription.seats:
        raise Invalid(f"the subscription already has {seats} seats")
    assigned = await assigned_seat_count(subscription.id)
    if seats < assigned:
        raise Conflict(
            f"{assigned} seats are assigned: revoke {assigned - seats} of them before going down to {seats}"
        )
    return price, await _with_tax(
        subscription,
        _preview(subscription, price, price, seats, "immediately"),
        price,
        current_discount(subscription.discount),
    )


async def preview_seat_change(
    org_id: UUID, subscription_id: UUID, seats: int, *, customer_id: UUID | None = None
) -> ChangePreview:
    subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    return (await _seat_change(org_id, subscription, seats, customer_id))[1]


async def change_seats(
    org_id: UUID, subscription_id: UUID, seats: int, *, customer_id: UUID | None = None
) -> Change:
    """Change the seat count now, prorated; refused below the seats already assigned."""
    order = None
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        # Lock the row first (PostgreSQL): seat assignment takes the same lock, so the count below is final.
        subscription = await lifecycle.apply_change(subscription, {})
        price, preview = await _seat_change(org_id, subscription, seats, customer_id)
        description = f"Proration: {subscription.seats} → {seats} seats"
        subscription, order = await _change_now(
            subscription, {Subscription.seats: seats}, preview, price, description, preview.discount
        )
    charged = await _charge(org_id, order)
    return Change(await get_subscription(org_id, subscription_id), charged)


# -- pause, resume, scheduled changes ----------------------------------------------------------------------


PAUSABLE = Status.ACTIVE
"""Only a subscription in good standing pauses: not a trial, nor one whose last payment failed."""


MAX_PAUSE_PERIODS = 12


class PausePreview(msgspec.Struct, kw_only=True, frozen=True):
    """What ``pause_subscription`` would do now."""

    subscription_id: UUID
    currency: str
    periods: int | None
    """Renewals skipped; None: until the customer resumes."""
    skipped_renewals: list[datetime]
    """The renewal dates that charge nothing (none listed for an open-ended pause)."""
    charges_skipped: int
    """What those renewals would have charged for the plan and seats (before tax and discounts)."""
    resumes_at: datetime | None
    """When billing and benefits come back on their own; None for an open-ended pause."""
    amount_after: int
    """What each period costs once it resumes."""


async def _pause_plan(
    org_id: UUID, subscription: Subscription, periods: int | None, customer_id: UUID | None
) -> PausePreview:
    if customer_id is not None and not (await _features(org_id)).pause:
        raise Forbidden("pausing is turned off for this portal")
    if subscription.status != PAUSABLE:
        raise Conflict(f"only a subscription that is {PAUSABLE} can be paused")
    if periods is not None and not 1 <= periods <= MAX_PAUSE_PERIODS:
        raise Invalid(f"a pause lasts 1 to {MAX_PAUSE_PERIODS} periods")
    price = await _price(org_id, subscription.price)
    renewals, boundary = [], subscription.current_period_end
    for _ in range(periods or 0):
        renewals.append(boundary)
        boundary = next_boundary(_anchor(subscription), price.interval, boundary)
    amount = period_amount(price, int(subscription.seats))
    return PausePreview(
        subscription_id=subscription.id,
        currency=subscription.currency,
        periods=periods,
        skipped_renewals=renewals,
        charges_skipped=amount * len(renewals),
        resumes_at=boundary if periods else None,
        amount_after=amount,
    )


async def preview_pause(
    org_id: UUID, subscription_id: UUID, *, periods: int | None = None, customer_id: UUID | None = None
) -> PausePreview:
    subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    return await _pause_plan(org_id, subscription, periods, customer_id)


async def pause_subscription(
    org_id: UUID,
    subscription_id: UUID,
    *,
    periods: int | None = None,
    customer_id: UUID | None = None,
) -> Subscription:
    """Pause now: benefits are withdrawn and later periods are not billed until it is resumed, or, for
    ``periods`` renewals, until the renewal after them bills again on its own (``preview_pause``)."""
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        plan = await _pause_plan(org_id, subscription, periods, customer_id)
        subscription = await lifecycle.apply_change(
            subscription,
            {
                Subscription.status: Status.PAUSED,
                Subscription.paused_at: clock.now(),
                Subscription.resumes_at: plan.resumes_at,
            },
        )
        await record_event(org_id, "subscription.updated", SubscriptionOut.of(subscription))
        await grants.sync_grants(org_id, subscription)
    return subscription


async def resume_subscription(
    org_id: UUID, subscription_id: UUID, *, customer_id: UUID | None = None
) -> Subscription:
    if customer_id is not None and not (await _features(org_id)).pause:
        raise Forbidden("pausing is turned off for this portal")
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        if subscription.status != Status.PAUSED:
            raise Conflict(f"only a subscription that is {Status.PAUSED} can be resumed")
        subscription = await lifecycle.apply_change(
            subscription,
            {Subscription.status: PAUSABLE, Subscription.paused_at: None, Subscription.resumes_at: None},
        )
        await record_event(org_id, "subscription.updated", SubscriptionOut.of(subscription))
        await grants.sync_grants(org_id, subscription)
    return subscription


async def clear_scheduled_change(
    org_id: UUID, subscription_id: UUID, *, customer_id: UUID | None = None
) -> Subscription:
    """Drop a plan change scheduled for the period end."""
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        if subscription.pending_price is None and subscription.pending_seats is None:
            raise Conflict("no change is scheduled")
        subscription = await lifecycle.apply_change(
            subscription, {Subscription.pending_price: None, Subscription.pending_seats: None}
        )
        await record_event(org_id, "subscription.updated", SubscriptionOut.of(subscription))
    return subscription


async def apply_discount(
    org_id: UUID,
    subscription_id: UUID,
    *,
    coupon_id: UUID | None = None,
    promotion_code: str | None = None,
    customer_id: UUID | None = None,
) -> Subscription:
    """Redeem a coupon, or the coupon of a promotion code, for this subscription: it replaces any discount
    running, reduces charges from now on and covers the next renewals its duration says."""
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        _require_live(subscription)
        discount = await discounts.redeem(
            org_id,
            subscription.customer,
            subscription.id,
            currency=subscription.currency,
            product_id=subscription.product,
            coupon_id=coupon_id,
            code=promotion_code,
        )
        subscription = await lifecycle.apply_change(
            subscription, {Subscription.discount: discounts.stored(discount)}
        )
        await record_event(org_id, "subscription.updated", SubscriptionOut.of(subscription))
    return subscription


async def remove_discount(
    org_id: UUID, subscription_id: UUID, *, customer_id: UUID | None = None
) -> Subscription:
    """End the running discount now: later charges are at full price (its redemption still counts)."""
    async with write_transaction():
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
        if current_discount(subscription.discount) is None:
            raise Conflict("the subscription has no discount")
        subscription = await lifecycle.apply_change(
            subscription, {Subscription.discount: discounts.stored(None)}
        )
        await record_event(org_id, "subscription.updated", SubscriptionOut.of(subscription))
    return subscription


async def preview_next_invoice(
    org_id: UUID,
    subscription_id: UUID,
    *,
    customer_id: UUID | None = None,
    subscription: Subscription | None = None,
) -> InvoicePreview:
    """The renewal order as it stands now: usage so far, the next period's base and seats (with a scheduled
    change applied), pending proration credits, and the wallet credit that would be applied. A caller that
    already holds the (scoped) subscription row passes it to save a query."""
    if subscription is None or str(subscription.id) != str(subscription_id):
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    return await _invoice_preview(org_id, subscription)


class DiscountPreview(msgspec.Struct, kw_only=True, frozen=True):
    """What redeeming a coupon would change: the next renewal with its discount, against the one without."""

    discount: Discount
    next_invoice: InvoicePreview
    total_without: int


async def preview_discount(
    org_id: UUID, subscription_id: UUID, coupon_id: UUID, *, customer_id: UUID | None = None
) -> DiscountPreview:
    """The next renewal if ``apply_discount`` redeemed this coupon now; refused (``DiscountRefused``) when it
    cannot be redeemed for this subscription."""
    subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    _require_live(subscription)
    discount = await discounts.quote(
        org_id,
        subscription.customer,
        currency=subscription.currency,
        product_id=subscription.product,
        coupon_id=coupon_id,
    )
    return DiscountPreview(
        discount=discount,
        next_invoice=await _invoice_preview(org_id, subscription, discount),
        total_without=(await _invoice_preview(org_id, subscription)).total,
    )


async def _invoice_preview(
    org_id: UUID, subscription: Subscription, discount: Discount | None = None
) -> InvoicePreview:
    _require_live(subscription)
    if subscription.cancel_at_period_end:
        raise Conflict("the subscription ends at the end of this period: there is no next invoice")
    cycle = await _next_cycle(org_id, subscription, discount)
    taxed = await tax.compute(org_id, subscription.customer, cycle.lines)
    balance = await wallet.get_balance(org_id, subscription.customer, subscription.currency)
    applied = min(balance, max(taxed.total, 0))  # what wallet.apply_to_order will take
    return InvoicePreview(
        subscription_id=subscription.id,
        currency=subscription.currency,
        period_start=cycle.start,
        period_end=cycle.end,
        lines=cycle.lines,
        line_taxes=taxed.lines,
        subtotal=taxed.subtotal,
        tax_amount=taxed.tax_amount,
        tax_lines=taxed.tax_lines,
        reverse_charge=taxed.reverse_charge,
        wallet_applied=applied,
        total=orders.amount_due(taxed.total, applied),
    )
