"""Billing in and out of the merchant API: orders with their lines and refunds, payment methods, the
subscription as every route returns it (with its discount), and the card processor
(``/v1/payment-provider``: secrets go in and never come out). The services own the rules; these Structs
only shape what crosses the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.db.tables import (
    CreditNote,
    Order,
    OrderLine,
    PaymentMethod,
    Refund,
    Subscription,
)
from server.enums import RefundDestination
from server.schemas.common import END, Positive, json_value, optional_id
from server.tax.schemas import CreditNoteOut
from server.tax.service import TaxLine

# Subscriptions


class Discount(msgspec.Struct, kw_only=True, frozen=True):
    """A coupon applied to a subscription: its terms as redeemed, and the renewals it still covers."""

    coupon_id: str
    promotion_code_id: str | None = None
    promotion_code: str | None = None
    name: str
    percent_off: str | None = None
    amount_off: int | None = None
    currency: str | None = None
    duration: str
    duration_periods: int | None = None
    periods_left: int | None
    """Renewal invoices still discounted; null: every one (``forever``)."""
    products: list[str] = msgspec.field(default_factory=list)
    """The products it discounts (empty: all)."""
    applied_at: datetime


class SubscriptionOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    customer_id: str
    product_id: str
    price_id: str
    status: str
    currency: str
    seats: int
    started_at: datetime
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    cancellation_reason: str | None
    cancellation_comment: str
    paused_at: datetime | None
    resumes_at: datetime | None = None
    """When a pause for a number of periods ends on its own (null: none, or until resumed)."""
    pending_price_id: str | None
    pending_seats: int | None
    default_payment_method_id: str | None
    discount: Discount | None
    """The discount running on it (null: none)."""
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Subscription) -> SubscriptionOut:
        return cls(
            id=str(row.id),
            customer_id=str(row.customer),
            product_id=str(row.product),
            price_id=str(row.price),
            status=row.status,
            currency=row.currency,
            seats=row.seats,
            started_at=row.started_at,
            current_period_start=row.current_period_start,
            current_period_end=row.current_period_end,
            trial_end=row.trial_end,
            cancel_at_period_end=row.cancel_at_period_end,
            canceled_at=row.canceled_at,
            ended_at=row.ended_at,
            cancellation_reason=row.cancellation_reason,
            cancellation_comment=row.cancellation_comment,
            paused_at=row.paused_at,
            resumes_at=row.resumes_at,
            pending_price_id=optional_id(row.pending_price),
            pending_seats=row.pending_seats,
            default_payment_method_id=optional_id(row.default_payment_method),
            discount=current_discount(row.discount),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def current_discount(value: object) -> Discount | None:
    """The discount a subscription's ``discount`` column holds, or None."""
    raw = json_value(value)
    return msgspec.convert(raw, Discount) if raw else None


# Orders


class OrderLineOut(msgspec.Struct, kw_only=True, frozen=True):
    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    """As priced: the gross of a tax-inclusive price, else the net."""
    net: int
    tax_amount: int
    tax_name: str
    tax_rate: str
    """The percentage applied ("19", "8.875"), empty when no tax applies."""
    price_id: str | None
    meter_id: str | None
    period_start: datetime | None
    period_end: datetime | None

    @classmethod
    def of(cls, row: OrderLine) -> OrderLineOut:
        return cls(
            kind=row.kind,
            description=row.description,
            quantity=row.quantity,
            unit_amount=row.unit_amount,
            amount=row.amount,
            net=row.net,
            tax_amount=row.tax_amount,
            tax_name=row.tax_name,
            tax_rate=row.tax_rate,
            price_id=optional_id(row.price),
            meter_id=optional_id(row.meter),
            period_start=row.period_start,
            period_end=row.period_end,
        )


class RefundCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount: Positive
    destination: RefundDestination = RefundDestination.PAYMENT_METHOD
    reason: Annotated[str, Meta(max_length=200)] = ""


class RefundOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    order_id: str
    amount: int
    currency: str
    destination: str
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, row: Refund) -> RefundOut:
        return cls(
            id=str(row.id),
            order_id=str(row.order),
            amount=row.amount,
            currency=row.currency,
            destination=row.destination,
            reason=row.reason,
            created_at=row.created_at,
        )


class OrderOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    customer_id: str
    subscription_id: str | None
    status: str
    billing_reason: str
    currency: str
    subtotal: int
    """The lines' nets, before tax."""
    tax_amount: int
    tax_lines: list[TaxLine]
    """Per rate: ``name``, ``rate`` (percent), ``net`` and ``tax``; they add up to ``subtotal`` and
    ``tax_amount`` (lines without tax stay out)."""
    reverse_charge: bool
    """EU reverse charge: the customer accounts for the VAT (the invoice carries the legal note)."""
    seller_tax_number: str
    wallet_applied: int
    total: int
    """What was left to pay after wallet credit: subtotal + tax - wallet_applied (0 for a credit)."""
    refunded_amount: int
    invoice_number: str | None
    invoice_issued_at: datetime | None
    payment_attempts: int
    next_payment_attempt_at: datetime | None
    last_payment_error: str
    """Why the latest charge of an unpaid order failed; empty once paid."""
    paid_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    created_at: datetime
    lines: list[OrderLineOut]
    refunds: list[RefundOut]
    credit_notes: list[CreditNoteOut]
    """One per refund: what it gave back, net and tax per rate, under its own number."""

    @classmethod
    def of(
        cls, row: Order, lines: list[OrderLine], refunds: list[Refund], credit_notes: list[CreditNote]
    ) -> OrderOut:
        return cls(
            id=str(row.id),
            customer_id=str(row.customer),
            subscription_id=optional_id(row.subscription),
            status=row.status,
            billing_reason=row.billing_reason,
            currency=row.currency,
            subtotal=row.subtotal,
            tax_amount=row.tax_amount,
            tax_lines=msgspec.convert(json_value(row.tax_lines) or [], list[TaxLine]),
            reverse_charge=bool(row.reverse_charge),
            seller_tax_number=row.seller_tax_number,
            wallet_applied=row.wallet_applied,
            total=row.total,
            refunded_amount=row.refunded_amount,
            invoice_number=row.invoice_number,
            invoice_issued_at=row.invoice_issued_at,
            payment_attempts=row.payment_attempts,
            next_payment_attempt_at=row.next_payment_attempt_at,
            last_payment_error=row.last_payment_error,
            paid_at=row.paid_at,
            period_start=row.period_start,
            period_end=row.period_end,
            created_at=row.created_at,
            lines=[OrderLineOut.of(line) for line in lines],
            refunds=[RefundOut.of(refund) for refund in refunds],
            credit_notes=[CreditNoteOut.of(note, row.invoice_number) for note in credit_notes],
        )


# Seats


# Wallet


# Payment methods


class PaymentMethodCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A card for the sandbox provider (test numbers: 4242 4242 4242 4242 succeeds)."""

    number: Annotated[str, Meta(pattern=rf"^[0-9 ]{{12,23}}{END}")]
    exp_month: Annotated[int, Meta(ge=1, le=12)]
    exp_year: Annotated[int, Meta(ge=2000, le=2100)]
    cvc: Annotated[str, Meta(pattern=rf"^[0-9]{{3,4}}{END}")]
    make_default: bool = True


class PaymentMethodOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    customer_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    created_at: datetime

    @classmethod
    def of(cls, row: PaymentMethod) -> PaymentMethodOut:
        return cls(
            id=str(row.id),
            customer_id=str(row.customer),
            brand=row.brand,
            last4=row.last4,
            exp_month=row.exp_month,
            exp_year=row.exp_year,
            is_default=bool(row.is_default),
            created_at=row.created_at,
        )


# Usage events


SUBSCRIPTION_EXAMPLE = {
    "customer_id": "3f2c9a1e-8d4b-4c55-9a0e-2f6d7b8c1a2e",
    "price_id": "9b1d7c3a-2e4f-4a6b-8c9d-0e1f2a3b4c5d",
    "seats": 5,
}
CANCEL_EXAMPLE = {"at_period_end": True, "reason": "too_expensive", "comment": "Budget cuts"}
REFUND_EXAMPLE = {"amount": 500, "destination": "wallet", "reason": "goodwill"}
SEAT_EXAMPLE = {"subscription_id": "3f2c9a1e-8d4b-4c55-9a0e-2f6d7b8c1a2e", "email": "grace@example.com"}
CARD_EXAMPLE = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


SecretKey = Annotated[
    str,
    Meta(
        pattern=rf"^(sk|rk)_(test|live)_[0-9A-Za-z_]{{4,250}}{END}",
        description="Stripe secret (or restricted) key",
    ),
]
PublishableKey = Annotated[
    str, Meta(pattern=rf"^pk_(test|live)_[0-9A-Za-z_]{{4,250}}{END}", description="Stripe publishable key")
]
WebhookSecret = Annotated[
    str,
    Meta(
        pattern=rf"^whsec_[0-9A-Za-z_]{{4,250}}{END}",
        description="signing secret of your Stripe webhook endpoint",
    ),
]


class PaymentProviderPut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    provider: Literal["sandbox", "stripe"]
    """``sandbox`` (test cards, no money moves) or ``stripe``."""
    secret_key: SecretKey | None = None
    """``stripe``: the account's secret key. Required the first time, left out to keep the stored one."""
    publishable_key: PublishableKey | None = None
    """``stripe``: the publishable key Stripe.js uses in your customers' browsers."""
    webhook_secret: WebhookSecret | None = None
    """``stripe``: the signing secret of the endpoint you register in Stripe (``webhook_url``). Required the
    first time, left out to keep the stored one."""


class PaymentProviderOut(msgspec.Struct, kw_only=True, frozen=True):
    provider: Literal["sandbox", "stripe"]
    publishable_key: str | None
    secret_key_last4: str | None
    """The last four characters of the stored secret key, to tell keys apart."""
    webhook_url: str | None
    """``stripe``: register this URL as a webhook endpoint in Stripe."""
    updated_at: datetime | None


PAYMENT_PROVIDER_EXAMPLE = {
    "provider": "stripe",
    "secret_key": "sk_test_51AbCdEfGhIjKlMnOp",
    "publishable_key": "pk_test_51AbCdEfGhIjKlMnOp",
    "webhook_secret": "whsec_AbCdEfGhIjKlMnOpQrSt",
}
