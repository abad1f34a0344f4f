"""Coupons, promotion codes and a subscription's discount in and out of the merchant API (rules:
``server.discounts.service``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from server.db.tables import Coupon, PromotionCode
from server.enums import CouponDuration
from server.schemas.common import END, ONE_LINE, Currency, json_value

CouponName = Annotated[str, Meta(min_length=1, max_length=100, pattern=ONE_LINE, examples=["Spring sale"])]
PercentOff = float | str
"""Above 0 and at most 100, with up to 2 decimals, as a number (20) or a decimal string ("12.5")."""
AmountOff = Annotated[int, Meta(ge=1, le=10**12, description="Integer minor units of ``currency``.")]
Periods = Annotated[int, Meta(ge=1, le=120)]
Limit = Annotated[int, Meta(ge=1, le=10**9)]
Code = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=40,
        pattern=rf"^[A-Za-z0-9_-]+{END}",
        description="Letters, digits, dashes or underscores; customers type it in any case.",
        examples=["SPRING20"],
    ),
]

COUPON_EXAMPLE = {
    "name": "Spring sale",
    "percent_off": 20,
    "duration": "repeating",
    "duration_periods": 3,
    "max_redemptions": 100,
}


class CouponCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: CouponName
    percent_off: PercentOff | None = None
    amount_off: AmountOff | None = None
    currency: Currency | None = None
    """Required with ``amount_off``: only subscriptions in this currency can redeem it."""
    duration: CouponDuration
    """``once``: the next renewal invoice; ``repeating``: ``duration_periods`` renewals; ``forever``: all."""
    duration_periods: Periods | None = None
    products: Annotated[list[UUID], Meta(max_length=100)] = msgspec.field(default_factory=list)
    """The products it discounts (empty: every product)."""
    redeem_by: datetime | None = None
    """After this moment it can no longer be redeemed (discounts already applied keep running)."""
    max_redemptions: Limit | None = None


class CouponUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay as they are; ``null`` clears ``max_redemptions`` or ``redeem_by``. The money
    terms (percent or amount off, currency, duration, products) change only while nobody redeemed it."""

    name: CouponName | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    max_redemptions: Limit | UnsetType | None = UNSET
    redeem_by: datetime | UnsetType | None = UNSET
    percent_off: PercentOff | UnsetType | None = UNSET
    amount_off: AmountOff | UnsetType | None = UNSET
    currency: Currency | UnsetType | None = UNSET
    duration: CouponDuration | UnsetType = UNSET
    duration_periods: Periods | UnsetType | None = UNSET
    products: Annotated[list[UUID], Meta(max_length=100)] | UnsetType = UNSET


class CouponOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    name: str
    percent_off: str | None
    amount_off: int | None
    currency: str | None
    duration: str
    duration_periods: int | None
    products: list[str]
    redeem_by: datetime | None
    max_redemptions: int | None
    times_redeemed: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Coupon) -> CouponOut:
        return cls(
            id=str(row.id),
            name=row.name,
            percent_off=row.percent_off,
            amount_off=row.amount_off,
            currency=row.currency,
            duration=row.duration,
            duration_periods=row.duration_periods,
            products=[str(p) for p in json_value(row.products) or []],
            redeem_by=row.redeem_by,
            max_redemptions=row.max_redemptions,
            times_redeemed=row.times_redeemed,
            active=bool(row.active),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class PromotionCodeCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    max_redemptions: Limit | None = None
    """Redemptions of this code by everyone (the coupon's own limit applies too)."""
    per_customer_limit: Limit | None = 1
    """Redemptions of this code by one customer (null: no limit)."""
    expires_at: datetime | None = None


class PromotionCodeUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    active: bool


class PromotionCodeOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    coupon_id: str
    code: str
    max_redemptions: int | None
    per_customer_limit: int | None
    times_redeemed: int
    expires_at: datetime | None
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: PromotionCode) -> PromotionCodeOut:
        return cls(
            id=str(row.id),
            coupon_id=str(row.coupon),
            code=row.code,
            max_redemptions=row.max_redemptions,
            per_customer_limit=row.per_customer_limit,
            times_redeemed=row.times_redeemed,
            expires_at=row.expires_at,
            active=bool(row.active),
            created_at=row.created_at,
        )


class DiscountApply(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Exactly one of the two."""

    coupon_id: UUID | None = None
    promotion_code: Code | None = None
