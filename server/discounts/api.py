"""Coupons (``/v1/coupons``) and their promotion codes (``/v1/coupons/{id}/promotion-codes``); applying one
to a subscription is ``/v1/subscriptions/{id}/discount``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.db.tables import Organization
from server.discounts import service as discounts
from server.discounts.schemas import (
    COUPON_EXAMPLE,
    CouponCreate,
    CouponOut,
    CouponUpdate,
    PromotionCodeCreate,
    PromotionCodeOut,
    PromotionCodeUpdate,
)
from server.http.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.schemas.common import Page

CouponId = FromPath[UUID]


class CouponController(Controller):
    path = "/v1/coupons"
    tags = ["discounts"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createCoupon", responses=problems(404, writes=True))
    async def create_coupon(
        self, org: NamedDependency[Organization], data: Annotated[CouponCreate, example_body(COUPON_EXAMPLE)]
    ) -> CouponOut:
        """A percent or amount off, for one renewal, a number of renewals or all of them."""
        coupon = await discounts.create_coupon(
            org.id,
            name=data.name,
            percent_off=data.percent_off,
            amount_off=data.amount_off,
            currency=data.currency,
            duration=data.duration,
            duration_periods=data.duration_periods,
            products=data.products,
            redeem_by=data.redeem_by,
            max_redemptions=data.max_redemptions,
        )
        return CouponOut.of(coupon)

    @get("/", operation_id="listCoupons", responses=problems(422))
    async def list_coupons(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[CouponOut]:
        """Coupons oldest first."""
        page = await discounts.list_coupons(org.id, limit=limit, cursor=cursor)
        return Page(items=[CouponOut.of(c) for c in page.items], next_cursor=page.next_cursor)

    @get("/{coupon_id:uuid}", operation_id="getCoupon", responses=problems(404))
    async def get_coupon(self, org: NamedDependency[Organization], coupon_id: CouponId) -> CouponOut:
        return CouponOut.of(await discounts.get_coupon(org.id, coupon_id))

    @patch("/{coupon_id:uuid}", operation_id="updateCoupon", responses=problems(404, 409, writes=True))
    async def update_coupon(
        self,
        org: NamedDependency[Organization],
        coupon_id: CouponId,
        data: Annotated[CouponUpdate, example_body({"active": False})],
    ) -> CouponOut:
        """Rename it, retire it (``active: false``) or change its limits; its money terms only until it is
        first redeemed. Discounts already applied keep running."""
        coupon = await discounts.update_coupon(
            org.id,
            coupon_id,
            name=data.name,
            active=data.active,
            max_redemptions=data.max_redemptions,
            redeem_by=data.redeem_by,
            percent_off=data.percent_off,
            amount_off=data.amount_off,
            currency=data.currency,
            duration=data.duration,
            duration_periods=data.duration_periods,
            products=data.products,
        )
        return CouponOut.of(coupon)

    @post(
        "/{coupon_id:uuid}/promotion-codes",
        operation_id="createPromotionCode",
        responses=problems(404, 409, writes=True),
    )
    async def create_promotion_code(
        self,
        org: NamedDependency[Organization],
        coupon_id: CouponId,
        data: Annotated[PromotionCodeCreate, example_body({"code": "SPRING20", "per_customer_limit": 1})],
    ) -> PromotionCodeOut:
        """A code customers type (in any case) to redeem this coupon, with its own optional limits."""
        code = await discounts.create_promotion_code(
            org.id,
            coupon_id,
            code=data.code,
            max_redemptions=data.max_redemptions,
            per_customer_limit=data.per_customer_limit,
            expires_at=data.expires_at,
        )
        return PromotionCodeOut.of(code)

    @get("/{coupon_id:uuid}/promotion-codes", operation_id="listPromotionCodes", responses=problems(404))
    async def list_promotion_codes(
        self, org: NamedDependency[Organization], coupon_id: CouponId
    ) -> list[PromotionCodeOut]:
        return [PromotionCodeOut.of(c) for c in await discounts.list_promotion_codes(org.id, coupon_id)]

    @patch(
        "/{coupon_id:uuid}/promotion-codes/{code_id:uuid}",
        operation_id="updatePromotionCode",
        responses=problems(404, writes=True),
    )
    async def update_promotion_code(
        self,
        org: NamedDependency[Organization],
        coupon_id: CouponId,
        code_id: FromPath[UUID],
        data: Annotated[PromotionCodeUpdate, example_body({"active": False})],
    ) -> PromotionCodeOut:
        """Stop (or resume) offering a code."""
        code = await discounts.set_promotion_code_active(org.id, coupon_id, code_id, data.active)
        return PromotionCodeOut.of(code)
