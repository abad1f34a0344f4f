"""Retention: a merchant's answer to each cancellation reason, offered in the cancel flow.

Per reason at most one offer: a pause for some renewals, a switch to a cheaper plan, or a coupon, each with
the merchant's wording. Whether a customer sees one is decided here only (``present``): never in a read-only
session, never for a subscription that has ended or is set to end, and at most once per customer within the
merchant's window (``window_months``), counting every offer shown (``RetentionOffer`` rows), answered or not.
An offer reopened before it is answered is the same offer, not a second one.

What an offer would change comes from the preview of the action that applies it (``preview_pause``,
``preview_plan_change``, ``preview_discount``); accepting applies it through that action in the same
transaction as the answer and its webhook. The monthly revenue kept by an accepted offer is what the
subscription goes on charging per month for its plan and seats after the offer (before tax, after the
offer's discount; a yearly amount counts a twelfth), in ``monthly_revenue_kept``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from fractions import Fraction
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.activity import record_merchant_activity
from server.billing.schemas import SubscriptionOut
from server.db.engine import write_transaction
from server.db.tables import Coupon, Price, Product, RetentionOffer, RetentionSettings, Subscription
from server.enums import LIVE, Interval, OrderLineKind
from server.errors import Conflict, DomainError, Invalid, NotFound
from server.proration import MONTHS_PER_INTERVAL, add_months
from server.retention.schemas import (
    OfferConfig,
    OfferKind,
    Offers,
    RetentionOfferOut,
    RetentionSettingsIn,
    RetentionSettingsOut,
)
from server.subscriptions import service as subscriptions
from server.subscriptions.service import ChangePreview, DiscountPreview, PausePreview
from server.tax.service import round_half_up
from server.webhooks.outbox import record_event

ACCEPTED, DECLINED = "accepted", "declined"


class Offer(msgspec.Struct, kw_only=True, frozen=True):
    """An offer as the cancel flow shows it: the merchant's words and what accepting changes, from the
    preview of the action that then applies it (exactly one of the three previews is set)."""

    id: UUID
    subscription_id: UUID
    reason: str
    kind: OfferKind
    message: str
    currency: str
    current_amount: int
    """What a period of the subscription costs now."""
    pause: PausePreview | None = None
    plan: ChangePreview | None = None
    plan_name: str = ""
    discount: DiscountPreview | None = None


# -- settings ----------------------------------------------------------------------------------------------


async def get_settings(org_id: UUID) -> RetentionSettingsOut:
    row = await RetentionSettings.objects().where(RetentionSettings.org == org_id).first()
    if row is None:
        return RetentionSettingsOut(window_months=12, offers=Offers(), updated_at=None)
    offers = msgspec.convert(_json(row.offers), Offers)
    return RetentionSettingsOut(window_months=row.window_months, offers=offers, updated_at=row.updated_at)


def _json(value: Any) -> Any:
    return msgspec.json.decode(value or "{}") if isinstance(value, str | bytes) else value or {}


def _keeps_someone(price: Price, plans: list[Price]) -> bool:
    """A plan offer must be cheaper than another live plan of its currency and interval: the subscriptions
    it is offered to pay more than it (see ``_applies``)."""
    floor = subscriptions.period_amount(price, price.min_seats)
    return any(
        subscriptions.period_amount(other, price.min_seats) > floor
        for other in plans
        if other.id != price.id and (other.currency, other.interval) == (price.currency, price.interval)
    )


async def _live_plans(org_id: UUID) -> list[Price]:
    return list(
        await Price.objects().where(
            Price.org == org_id, Price.archived_at.is_null(), Price.interval != Interval.ONE_TIME
        )
    )


async def _check_plan(org_id: UUID, price_id: UUID) -> None:
    """A plan offer names a live recurring price that can keep someone (``_keeps_someone``)."""
    price = await Price.objects().where(Price.org == org_id, Price.id == price_id).first()
    if price is None:
        raise Invalid(f"no price {price_id}")
    if price.archived_at is not None or price.interval == Interval.ONE_TIME:
        raise Invalid("a plan offer names a recurring price that is not archived")
    if not _keeps_someone(price, await _live_plans(org_id)):
        raise Invalid(f"price {price_id} is not cheaper than any other plan: it cannot keep anyone")


class PlanChoice(msgspec.Struct, kw_only=True, frozen=True):
    price_id: UUID
    product_name: str
    amount: int
    """A period at the plan's fewest seats."""
    currency: str
    interval: str


class CouponChoice(msgspec.Struct, kw_only=True, frozen=True):
    coupon_id: UUID
    name: str


async def offer_choices(org_id: UUID) -> tuple[list[PlanChoice], list[CouponChoice]]:
    """What a merchant may offer: the plans that can keep someone, cheapest first, and the active coupons."""
    plans = await _live_plans(org_id)
    names = {
        row["id"]: row["name"]
        for row in await Product.select(Product.id, Product.name).where(Product.org == org_id)
    }
    choices = sorted(
        (
            PlanChoice(
                price_id=price.id,
                product_name=names.get(price.product, ""),
                amount=subscriptions.period_amount(price, price.min_seats),
                currency=price.currency,
                interval=price.interval,
            )
            for price in plans
            if _keeps_someone(price, plans)
        ),
        key=lambda plan: (plan.currency, plan.interval, plan.amount, plan.product_name),
    )
    coupons = await Coupon.objects().where(Coupon.org == org_id, Coupon.active.eq(True)).order_by(Coupon.name)
    return choices, [CouponChoice(coupon_id=coupon.id, name=coupon.name) for coupon in coupons]


async def _check_offer(org_id: UUID, reason: str, offer: OfferConfig) -> OfferConfig:
    terms = {"pause": offer.pause_periods, "plan": offer.price_id, "coupon": offer.coupon_id}
    given = {kind for kind, value in terms.items() if value is not None}
    needed = {"pause": "pause_periods", "plan": "price_id", "coupon": "coupon_id"}[offer.kind]
    if given != {offer.kind}:
        raise Invalid(f"the {offer.kind} offer for {reason} takes {needed}, and only that")
    if offer.price_id is not None:
        await _check_plan(org_id, offer.price_id)
    if offer.coupon_id is not None:
        coupon = await Coupon.objects().where(Coupon.org == org_id, Coupon.id == offer.coupon_id).first()
        if coupon is None:
            raise Invalid(f"no coupon {offer.coupon_id}")
        if not coupon.active:
            raise Invalid(f"coupon {offer.coupon_id} is no longer active")
    return msgspec.structs.replace(offer, message=offer.message.strip())


async def put_settings(org_id: UUID, data: RetentionSettingsIn) -> RetentionSettingsOut:
    """Replace the merchant's retention settings; every offer is checked (422 with the reason)."""
    offers = Offers(
        **{
            reason: await _check_offer(org_id, reason, offer)
            for reason, offer in data.offers.by_reason().items()
        }
    )
    stored = msgspec.json.encode(offers).decode()
    now = clock.now()
    async with write_transaction():
        updated = (
            await RetentionSettings.update(
                {
                    RetentionSettings.window_months: data.window_months,
                    RetentionSettings.offers: stored,
                    RetentionSettings.updated_at: now,
                }
            )
            .where(RetentionSettings.org == org_id)
            .returning(RetentionSettings.id)
        )
        if not updated:
            await RetentionSettings(
                id=uuid.uuid4(),
                org=org_id,
                window_months=data.window_months,
                offers=stored,
                updated_at=now,
            ).save()
        await record_merchant_activity(org_id, "retention_settings.updated")
    return await get_settings(org_id)


# -- offering ----------------------------------------------------------------------------------------------


def monthly(amount: int, interval: str) -> int:
    """A period's amount per month."""
    return round_half_up(Fraction(amount, MONTHS_PER_INTERVAL[Interval(interval)]))


async def _preview(org_id: UUID, subscription: Subscription, config: OfferConfig) -> dict[str, Any]:
    """The preview of the action the offer applies, or DomainError when it does not apply to this
    subscription (not pausable, a plan no cheaper than the current one, a coupon that cannot be redeemed)."""
    if config.kind == "pause":
        return {
            "pause": await subscriptions.preview_pause(org_id, subscription.id, periods=config.pause_periods)
        }
    if config.kind == "plan":
        assert config.price_id is not None
        plan = await subscriptions.preview_plan_change(org_id, subscription.id, config.price_id)
        if plan.new_amount >= plan.current_amount:
            raise Conflict("the offered plan is not cheaper than the current one")
        _price, product = await subscriptions.price_with_product(org_id, config.price_id)
        return {"plan": plan, "plan_name": product.name}
    assert config.coupon_id is not None
    return {"discount": await subscriptions.preview_discount(org_id, subscription.id, config.coupon_id)}


def _offerable(subscription: Subscription) -> bool:
    return subscription.status in LIVE and not subscription.cancel_at_period_end


async def _window_start(org_id: UUID) -> tuple[datetime, RetentionSettingsOut]:
    settings = await get_settings(org_id)
    return add_months(clock.now(), -settings.window_months), settings


async def present(
    org_id: UUID, customer_id: UUID, subscription_id: UUID, reason: str, *, read_only: bool
) -> Offer | None:
    """The offer to show this customer who gives ``reason`` for cancelling, recorded as shown; None when
    there is none for the reason or the customer may not have one now (see the module's rules)."""
    if read_only or not reason:
        return None
    subscription = await subscriptions.get_subscription(org_id, subscription_id, customer_id=customer_id)
    since, settings = await _window_start(org_id)
    config = settings.offers.by_reason().get(reason)
    if config is None or not _offerable(subscription):
        return None
    recent = await RetentionOffer.objects().where(
        RetentionOffer.org == org_id,
        RetentionOffer.customer == customer_id,
        RetentionOffer.shown_at > since,
    )
    reopened = next(
        (
            row
            for row in recent
            if str(row.subscription) == str(subscription.id)
            and row.reason == reason
            and row.kind == config.kind
            and not row.outcome
        ),
        None,
    )
    if recent and reopened is None:
        return None
    try:
        previews = await _preview(org_id, subscription, config)
    except DomainError:
        return None
    if reopened is None:
        reopened = RetentionOffer(
            id=uuid.uuid4(),
            org=org_id,
            customer=customer_id,
            subscription=subscription.id,
            reason=reason,
            kind=config.kind,
            currency=subscription.currency,
            shown_at=clock.now(),
        )
        async with write_transaction():
            await reopened.save()
    price, _product = await subscriptions.price_with_product(org_id, subscription.price)
    return Offer(
        id=reopened.id,
        subscription_id=subscription.id,
        reason=reason,
        kind=config.kind,
        message=config.message,
        currency=subscription.currency,
        current_amount=subscriptions.period_amount(price, int(subscription.seats)),
        **previews,
    )


async def _open_offer(org_id: UUID, customer_id: UUID, offer_id: UUID) -> RetentionOffer:
    row = (
        await RetentionOffer.objects()
        .where(
            RetentionOffer.org == org_id,
            RetentionOffer.customer == customer_id,
            RetentionOffer.id == offer_id,
        )
        .first()
    )
    if row is None:
        raise NotFound(f"no retention offer {offer_id}")
    if row.outcome:
        raise Conflict(f"this offer was already {row.outcome}")
    return row


async def get_offer(org_id: UUID, offer_id: UUID) -> RetentionOfferOut:
    """One offer as its webhooks carried it, with the subscription as it is now."""
    row = (
        await RetentionOffer.objects()
        .where(RetentionOffer.org == org_id, RetentionOffer.id == offer_id)
        .first()
    )
    if row is None:
        raise NotFound(f"no retention offer {offer_id}")
    subscription = await subscriptions.get_subscription(org_id, row.subscription)
    return RetentionOfferOut.of(row, SubscriptionOut.of(subscription))


async def _decide(row: RetentionOffer, outcome: str, revenue: int = 0) -> RetentionOfferOut:
    """Record the answer (once: a conditional UPDATE) and its webhook, inside the caller's transaction."""
    now = clock.now()
    answered = (
        await RetentionOffer.update(
            {
                RetentionOffer.outcome: outcome,
                RetentionOffer.decided_at: now,
                RetentionOffer.monthly_revenue_kept: revenue,
            }
        )
        .where(RetentionOffer.id == row.id, RetentionOffer.outcome == "")
        .returning(RetentionOffer.id)
    )
    if not answered:
        raise Conflict("this offer was answered meanwhile")
    row.outcome, row.decided_at, row.monthly_revenue_kept = outcome, now, revenue
    subscription = await subscriptions.get_subscription(row.org, row.subscription)
    data = RetentionOfferOut.of(row, SubscriptionOut.of(subscription))
    await record_event(row.org, f"subscription.retention_offer_{outcome}", data)
    return data


def _revenue_after_discount(preview: DiscountPreview, interval: str) -> int:
    lines = preview.next_invoice.lines
    kept = sum(
        line.amount
        for line in lines
        if line.kind in (OrderLineKind.BASE, OrderLineKind.SEATS, OrderLineKind.DISCOUNT)
    )
    return monthly(kept, interval)


async def accept(org_id: UUID, customer_id: UUID, offer_id: UUID) -> RetentionOfferOut:
    """Apply the offer now through its action and record the answer, in one transaction."""
    async with write_transaction():
        row = await _open_offer(org_id, customer_id, offer_id)
        config = (await get_settings(org_id)).offers.by_reason().get(row.reason)
        subscription = await subscriptions.get_subscription(org_id, row.subscription)
        if config is None or config.kind != row.kind or not _offerable(subscription):
            raise Conflict("this offer is no longer available")
        price, _product = await subscriptions.price_with_product(org_id, subscription.price)
        if config.kind == "pause":
            pause = await subscriptions.preview_pause(org_id, subscription.id, periods=config.pause_periods)
            await subscriptions.pause_subscription(org_id, subscription.id, periods=config.pause_periods)
            revenue = monthly(pause.amount_after, price.interval)
        elif config.kind == "plan":
            assert config.price_id is not None
            target, _product = await subscriptions.price_with_product(org_id, config.price_id)
            await subscriptions.change_plan(org_id, subscription.id, config.price_id)
            revenue = monthly(subscriptions.period_amount(target, int(subscription.seats)), price.interval)
        else:
            assert config.coupon_id is not None
            preview = await subscriptions.preview_discount(org_id, subscription.id, config.coupon_id)
            await subscriptions.apply_discount(org_id, subscription.id, coupon_id=config.coupon_id)
            revenue = _revenue_after_discount(preview, price.interval)
        return await _decide(row, ACCEPTED, revenue)


async def decline(org_id: UUID, customer_id: UUID, offer_id: UUID) -> RetentionOfferOut:
    async with write_transaction():
        return await _decide(await _open_offer(org_id, customer_id, offer_id), DECLINED)
