"""Discounts: coupons and promotion codes, their redemption on a subscription and what each renewal still
takes off. API: ``/v1/coupons``."""
