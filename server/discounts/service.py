"""Discounts: coupons, the promotion codes customers type, and the discount a subscription carries.

A coupon is *redeemed* when it is applied to a subscription (``redeem``, inside the caller's transaction):
the coupon's and the code's ``times_redeemed`` move by a conditional UPDATE that re-checks every limit, so
concurrent redemptions never pass ``max_redemptions`` (PostgreSQL re-evaluates the WHERE once the row lock
is free; SQLite serializes writers), and a redemption row records who redeemed what (the per-customer limit
of a code counts them after the code's row is locked).

The subscription keeps the coupon's terms as redeemed (``Discount``, in ``Subscription.discount``) with the
renewals it still covers: ``once`` the next renewal, ``repeating`` N renewals, ``forever`` all of them. A
coupon that expires or is deactivated later cannot be redeemed any more, but a discount already running keeps
its duration. ``discount_lines`` turns a discount into order lines: one negative line per discounted price,
named after the coupon and priced like the lines it discounts, so the tax service taxes the discounted amount.
Charges within a covered period (a plan or seat change's proration) get the percent off too; an amount off is
taken once per period, from the renewal, so it leaves a proration (the difference of two period amounts each
reduced by it) unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal
from uuid import UUID

import msgspec

from server import clock
from server.billing.orders import LineDraft
from server.billing.schemas import Discount
from server.db.engine import write_transaction
from server.db.pagination import DEFAULT_LIMIT, Page, paginate
from server.db.tables import Coupon, CouponRedemption, Price, Product, PromotionCode
from server.enums import CouponDuration, OrderLineKind
from server.errors import Conflict, Invalid, NotFound
from server.money import normalize_currency
from server.tax.service import percent_text, round_half_up

MAX_PERIODS = 120
MAX_PRODUCTS = 100
CODE_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

Refusal = Literal["unknown", "inactive", "expired", "used_up", "already_used", "not_applicable", "currency"]


class DiscountRefused(Invalid):
    """A coupon or code that cannot be redeemed here; ``reason`` lets the portal say why in the customer's
    language."""

    code = "discount_refused"

    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason


# -- coupons ------------------------------------------------------------------------------------------------


def _percent(value: Decimal | float | str) -> str:
    try:
        rate = Decimal(str(value))
    except InvalidOperation as exc:
        raise Invalid("percent_off is a number above 0 and at most 100") from exc
    if not rate.is_finite() or not 0 < rate <= 100 or rate.as_tuple().exponent < -2:  # type: ignore[operator]
        raise Invalid("percent_off is a number above 0 and at most 100, with at most 2 decimals")
    return percent_text(rate)


def _name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 100 or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise Invalid("name is one line of 1 to 100 characters")
    return value


async def _terms(org_id: UUID, terms: dict[str, Any]) -> dict[Any, Any]:
    """The money terms of a coupon, checked: exactly one of percent and amount off (with its currency), a
    duration with its period count when repeating, and products of this merchant."""
    percent, amount = terms.get("percent_off"), terms.get("amount_off")
    if (percent is None) == (amount is None):
        raise Invalid("give exactly one of percent_off and amount_off")
    currency = terms.get("currency")
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= 10**12:
            raise Invalid("amount_off is a positive integer of minor units")
        if not currency:
            raise Invalid("amount_off needs its currency")
        currency = normalize_currency(currency)
    elif currency:
        raise Invalid("currency goes with amount_off only")
    duration, periods = terms.get("duration"), terms.get("duration_periods")
    if duration not in set(CouponDuration):
        raise Invalid(f"duration is one of: {', '.join(CouponDuration)}")
    if (duration == CouponDuration.REPEATING) != (periods is not None):
        raise Invalid("duration_periods is required for a repeating coupon, and only for one")
    if periods is not None and not 1 <= periods <= MAX_PERIODS:
        raise Invalid(f"duration_periods is from 1 to {MAX_PERIODS}")
    products = sorted({str(p) for p in terms.get("products") or []})
    if len(products) > MAX_PRODUCTS:
        raise Invalid(f"at most {MAX_PRODUCTS} products")
    if products:
        found = await Product.count().where(Product.org == org_id, Product.id.is_in(products))
        if found != len(products):
            raise NotFound("one of the products does not exist")
    return {
        Coupon.percent_off: None if percent is None else _percent(percent),
        Coupon.amount_off: amount,
        Coupon.currency: currency if amount is not None else None,
        Coupon.duration: duration,
        Coupon.duration_periods: periods,
        Coupon.products: products,
    }


def _check_limits(max_redemptions: int | None, redeem_by: datetime | None) -> None:
    if max_redemptions is not None and not 1 <= max_redemptions <= 10**9:
        raise Invalid("max_redemptions is a positive integer")
    if redeem_by is not None and redeem_by <= clock.now():
        raise Invalid("redeem_by must be in the future")


async def create_coupon(
    org_id: UUID,
    *,
    name: str,
    duration: str,
    percent_off: Decimal | float | str | None = None,
    amount_off: int | None = None,
    currency: str | None = None,
    duration_periods: int | None = None,
    products: Sequence[UUID | str] = (),
    redeem_by: datetime | None = None,
    max_redemptions: int | None = None,
) -> Coupon:
    terms = await _terms(
        org_id,
        {
            "percent_off": percent_off,
            "amount_off": amount_off,
            "currency": currency,
            "duration": duration,
            "duration_periods": duration_periods,
            "products": products,
        },
    )
    _check_limits(max_redemptions, redeem_by)
    now = clock.now()
    coupon = Coupon(
        id=uuid.uuid4(),
        org=org_id,
        name=_name(name),
        redeem_by=redeem_by,
        max_redemptions=max_redemptions,
        created_at=now,
        updated_at=now,
    )
    for column, value in terms.items():
        setattr(coupon, column._meta.name, value)
    async with write_transaction():
        await coupon.save()
    return coupon


async def get_coupon(org_id: UUID, coupon_id: Any) -> Coupon:
    coupon = await Coupon.objects().where(Coupon.org == org_id, Coupon.id == coupon_id).first()
    if coupon is None:
        raise NotFound(f"no coupon {coupon_id}")
    return coupon


async def list_coupons(
    org_id: UUID, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Coupon]:
    """Coupons oldest first, in keyset pages."""
    return await paginate(Coupon.objects().where(Coupon.org == org_id), Coupon, limit=limit, cursor=cursor)


MONEY_TERMS = ("percent_off", "amount_off", "currency", "duration", "duration_periods", "products")
UNCHANGED: Any = msgspec.UNSET


async def update_coupon(org_id: UUID, coupon_id: UUID, **changes: Any) -> Coupon:
    """Change a coupon: its name, whether it is active, its limits (``max_redemptions`` and ``redeem_by``,
    None clears one), and its money terms while nobody has redeemed it. Fields left UNCHANGED stay."""
    changes = {key: value for key, value in changes.items() if value is not UNCHANGED}
    async with write_transaction():
        coupon = await get_coupon(org_id, coupon_id)
        values: dict[Any, Any] = {}
        if set(changes) & set(MONEY_TERMS):
            if coupon.times_redeemed:
                raise Conflict(
                    "the coupon has been redeemed: its money terms and products can no longer change"
                )
            current = {key: getattr(coupon, key) for key in MONEY_TERMS}
            current["products"] = _products(coupon)
            if "percent_off" in changes or "amount_off" in changes:
                current.update(percent_off=None, amount_off=None, currency=None)
            if "duration" in changes:
                current["duration_periods"] = None
            values.update(await _terms(org_id, {**current, **changes}))
        if "name" in changes:
            values[Coupon.name] = _name(changes["name"])
        if "active" in changes:
            values[Coupon.active] = bool(changes["active"])
        if "max_redemptions" in changes or "redeem_by" in changes:
            limit, until = changes.get("max_redemptions"), changes.get("redeem_by")
            _check_limits(limit, until if "redeem_by" in changes else None)
            if "max_redemptions" in changes:
                if limit is not None and limit < coupon.times_redeemed:
                    raise Invalid(f"the coupon was already redeemed {coupon.times_redeemed} times")
                values[Coupon.max_redemptions] = limit
            if "redeem_by" in changes:
                values[Coupon.redeem_by] = until
        values[Coupon.updated_at] = clock.now()
        query = Coupon.update(values).where(Coupon.id == coupon.id)
        if set(changes) & set(MONEY_TERMS):  # a redemption committed since the read wins (PostgreSQL)
            query = query.where(Coupon.times_redeemed == 0)
        if "max_redemptions" in changes and changes["max_redemptions"] is not None:
            query = query.where(Coupon.times_redeemed <= changes["max_redemptions"])
        if not await query.returning(Coupon.id):
            raise Conflict("the coupon was redeemed meanwhile: reload it and try again")
        return await get_coupon(org_id, coupon_id)


# -- promotion codes ----------------------------------------------------------------------------------------


def code_key(code: str) -> str:
    """How codes are compared: case-insensitively, surrounding spaces ignored."""
    return code.strip().casefold()


async def create_promotion_code(
    org_id: UUID,
    coupon_id: UUID,
    *,
    code: str,
    max_redemptions: int | None = None,
    per_customer_limit: int | None = 1,
    expires_at: datetime | None = None,
) -> PromotionCode:
    coupon = await get_coupon(org_id, coupon_id)
    code = code.strip()
    if not 3 <= len(code) <= 40 or not set(code) <= CODE_CHARACTERS:
        raise Invalid("a code is 3 to 40 letters, digits, dashes or underscores")
    _check_limits(max_redemptions, expires_at)
    if per_customer_limit is not None and not 1 <= per_customer_limit <= 10**6:
        raise Invalid("per_customer_limit is a positive integer")
    now = clock.now()
    promotion = PromotionCode(
        id=uuid.uuid4(),
        org=org_id,
        coupon=coupon.id,
        code=code,
        code_key=code_key(code),
        max_redemptions=max_redemptions,
        per_customer_limit=per_customer_limit,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    async with write_transaction():
        if await PromotionCode.exists().where(
            PromotionCode.org == org_id, PromotionCode.code_key == promotion.code_key
        ):
            raise Conflict(f"the code {code!r} exists already")
        await promotion.save()
    return promotion


async def list_promotion_codes(org_id: UUID, coupon_id: UUID) -> list[PromotionCode]:
    coupon = await get_coupon(org_id, coupon_id)
    return list(
        await PromotionCode.objects()
        .where(PromotionCode.coupon == coupon.id)
        .order_by(PromotionCode.created_at)
    )


async def set_promotion_code_active(
    org_id: UUID, coupon_id: UUID, code_id: UUID, active: bool
) -> PromotionCode:
    async with write_transaction():
        updated = (
            await PromotionCode.update({PromotionCode.active: active, PromotionCode.updated_at: clock.now()})
            .where(
                PromotionCode.org == org_id, PromotionCode.coupon == coupon_id, PromotionCode.id == code_id
            )
            .returning(PromotionCode.id)
        )
        if not updated:
            raise NotFound(f"no promotion code {code_id} on this coupon")
        row = await PromotionCode.objects().where(PromotionCode.id == code_id).first()
    assert row is not None
    return row


# -- redeeming ----------------------------------------------------------------------------------------------


def _refusal(coupon: Coupon, code: PromotionCode | None, currency: str, product_id: str) -> Refusal | None:
    """Why this coupon (through this code) cannot be redeemed for a subscription in ``currency`` on
    ``product_id`` now, from the rows as read; None when it can (the counts are re-checked on redemption)."""
    now = clock.now()
    if code is not None:
        if not code.active:
            return "inactive"
        if code.expires_at is not None and code.expires_at <= now:
            return "expired"
        if code.max_redemptions is not None and code.times_redeemed >= code.max_redemptions:
            return "used_up"
    if not coupon.active:
        return "inactive"
    if coupon.redeem_by is not None and coupon.redeem_by <= now:
        return "expired"
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        return "used_up"
    if coupon.amount_off is not None and coupon.currency != currency:
        return "currency"
    products = _products(coupon)
    if products and product_id not in products:
        return "not_applicable"
    return None


REFUSALS: dict[Refusal, str] = {
    "unknown": "there is no such code",
    "inactive": "the coupon or code is no longer offered",
    "expired": "the coupon or code has expired",
    "used_up": "the coupon or code has been redeemed as often as it may be",
    "already_used": "this customer has already used this code as often as they may",
    "not_applicable": "the coupon does not apply to this subscription's product",
    "currency": "the coupon's amount is in another currency than the subscription",
}


def _refuse(reason: Refusal) -> DiscountRefused:
    return DiscountRefused(reason, REFUSALS[reason])


def _products(coupon: Coupon) -> list[str]:
    raw = coupon.products
    value = msgspec.json.decode(raw or "[]") if isinstance(raw, str | bytes) else raw
    return [str(p) for p in value or []]


async def _find(
    org_id: UUID, *, coupon_id: Any = None, code: str | None = None
) -> tuple[Coupon, PromotionCode | None]:
    if (coupon_id is None) == (code is None):
        raise Invalid("give exactly one of coupon_id and promotion_code")
    promotion = None
    if code is not None:
        promotion = (
            await PromotionCode.objects()
            .where(PromotionCode.org == org_id, PromotionCode.code_key == code_key(code))
            .first()
        )
        if promotion is None:
            raise _refuse("unknown")
        coupon_id = promotion.coupon
    return await get_coupon(org_id, coupon_id), promotion


def _discount(coupon: Coupon, code: PromotionCode | None) -> Discount:
    periods = {CouponDuration.ONCE: 1, CouponDuration.REPEATING: coupon.duration_periods}.get(
        CouponDuration(coupon.duration)
    )
    return Discount(
        coupon_id=str(coupon.id),
        promotion_code_id=str(code.id) if code else None,
        promotion_code=code.code if code else None,
        name=coupon.name,
        percent_off=coupon.percent_off,
        amount_off=None if coupon.amount_off is None else int(coupon.amount_off),
        currency=coupon.currency,
        duration=coupon.duration,
        duration_periods=coupon.duration_periods,
        periods_left=periods,
        products=_products(coupon),
        applied_at=clock.now(),
    )


async def quote(
    org_id: UUID,
    customer_id: Any,
    *,
    currency: str,
    product_id: Any,
    coupon_id: Any = None,
    code: str | None = None,
) -> Discount:
    """The discount a coupon or code would give a subscription of this customer (for previews); refused with
    the reason when it cannot be redeemed. Nothing is written."""
    coupon, promotion = await _find(org_id, coupon_id=coupon_id, code=code)
    reason = _refusal(coupon, promotion, currency, str(product_id))
    if reason is None and promotion is not None and promotion.per_customer_limit is not None:
        used = await CouponRedemption.count().where(
            CouponRedemption.promotion_code == promotion.id, CouponRedemption.customer == customer_id
        )
        reason = "already_used" if used >= promotion.per_customer_limit else None
    if reason is not None:
        raise _refuse(reason)
    return _discount(coupon, promotion)


async def redeem(
    org_id: UUID,
    customer_id: Any,
    subscription_id: Any,
    *,
    currency: str,
    product_id: Any,
    coupon_id: Any = None,
    code: str | None = None,
) -> Discount:
    """Redeem a coupon (or the coupon of a code) for a subscription, inside the caller's transaction: the
    counts move only while every limit still holds, and the redemption is recorded."""
    discount = await quote(
        org_id, customer_id, currency=currency, product_id=product_id, coupon_id=coupon_id, code=code
    )
    now = clock.now()
    if discount.promotion_code_id is not None:
        bumped = (
            await PromotionCode.update({PromotionCode.times_redeemed: PromotionCode.times_redeemed + 1})
            .where(
                PromotionCode.id == discount.promotion_code_id,
                PromotionCode.active.eq(True),
                PromotionCode.expires_at.is_null() | (PromotionCode.expires_at > now),
                PromotionCode.max_redemptions.is_null()
                | (PromotionCode.times_redeemed < PromotionCode.max_redemptions),
            )
            .returning(PromotionCode.per_customer_limit)
        )
        if not bumped:
            raise _refuse("used_up")
        limit = bumped[0]["per_customer_limit"]
        # The code's row is locked until the transaction ends: this count sees every earlier redemption.
        if limit is not None and await CouponRedemption.count().where(
            CouponRedemption.promotion_code == discount.promotion_code_id,
            CouponRedemption.customer == customer_id,
        ) >= int(limit):
            raise _refuse("already_used")
    bumped = (
        await Coupon.update({Coupon.times_redeemed: Coupon.times_redeemed + 1})
        .where(
            Coupon.id == discount.coupon_id,
            Coupon.active.eq(True),
            Coupon.redeem_by.is_null() | (Coupon.redeem_by > now),
            Coupon.max_redemptions.is_null() | (Coupon.times_redeemed < Coupon.max_redemptions),
        )
        .returning(Coupon.id)
    )
    if not bumped:
        raise _refuse("used_up")
    await CouponRedemption(
        id=uuid.uuid4(),
        org=org_id,
        coupon=discount.coupon_id,
        promotion_code=discount.promotion_code_id,
        customer=customer_id,
        subscription=subscription_id,
        created_at=now,
    ).save()
    return discount


# -- the discount of a subscription --------------------------------------------------------------------------


def stored(discount: Discount | None) -> str:
    """``discount`` as the subscription's ``discount`` column keeps it."""
    return msgspec.json.encode(discount).decode() if discount is not None else "{}"


def after_renewal(discount: Discount) -> Discount | None:
    """The discount once a renewal invoice used it: one period fewer left, or gone after its last."""
    if discount.periods_left is None:
        return discount
    left = discount.periods_left - 1
    return msgspec.structs.replace(discount, periods_left=left) if left > 0 else None


def _eligible(line: LineDraft) -> bool:
    """Lines a discount reduces: what is charged for the plan, its seats and usage; not credits carried
    from earlier changes (negative prorations), nor other discounts."""
    if line.kind == OrderLineKind.DISCOUNT:
        return False
    return not (line.kind == OrderLineKind.PRORATION and line.amount < 0)


async def discount_lines(
    org_id: UUID, discount: Discount | None, lines: Sequence[LineDraft], *, renewal: bool
) -> list[LineDraft]:
    """The negative lines ``discount`` adds to an order made of ``lines``: one per discounted price, never
    more than that price's eligible amount. ``renewal``: a period invoice (amounts off reduce no other)."""
    if discount is None or (discount.amount_off is not None and not renewal):
        return []
    groups: dict[str, int] = {}
    firsts: dict[str, LineDraft] = {}
    for line in lines:
        if line.price_id is not None and _eligible(line):
            groups[str(line.price_id)] = groups.get(str(line.price_id), 0) + line.amount
            firsts.setdefault(str(line.price_id), line)
    if discount.products and groups:
        rows = await Price.select(Price.id, Price.product).where(
            Price.org == org_id, Price.id.is_in(list(groups))
        )
        allowed = {str(r["id"]) for r in rows if str(r["product"]) in discount.products}
        groups = {price: amount for price, amount in groups.items() if price in allowed}
    result = []
    amount_left = discount.amount_off or 0
    for price_id, amount in groups.items():
        if amount <= 0:
            continue
        if discount.percent_off is not None:
            off = round_half_up(Fraction(amount) * Fraction(Decimal(discount.percent_off)) / 100)
        else:
            off = min(amount, amount_left)
            amount_left -= off
        if off:
            first = firsts[price_id]
            result.append(
                LineDraft(
                    kind=OrderLineKind.DISCOUNT,
                    description=discount.name,
                    amount=-off,
                    unit_amount=-off,
                    price_id=first.price_id,
                    period_start=first.period_start,
                    period_end=first.period_end,
                )
            )
    return result
