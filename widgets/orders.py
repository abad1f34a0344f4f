"""Orders: history with lines, status and refunds, invoice, receipt and credit-note downloads, paying a failed
order."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from server.auth.sessions import PortalContext
from server.billing import payment_providers, stripe_events
from server.billing.orders import (
    PAID_STATUSES,
    awaits_confirmation,
    credit_notes_by_order,
    lines_and_refunds,
    list_orders,
    pay_order,
)
from server.billing.payments import card_expired, list_payment_methods
from server.billing.providers import decline_reason
from server.enums import OrderStatus
from server.errors import Invalid
from server.i18n import gettext as _
from server.portal.documents import document_path
from server.schemas.common import json_value
from server.tax.service import TaxLine
from widgets.base import ActionResult, Form, Params, View

PAGE_SIZE = 20


class Line(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    quantity: int
    amount: int
    period_start: datetime | None
    period_end: datetime | None


class RefundRow(msgspec.Struct, frozen=True, kw_only=True):
    amount: int
    destination: str
    created_at: datetime


class CreditNoteRow(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    total: int
    issued_at: datetime
    pdf_url: str


class OrderRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created_at: datetime
    status: str
    billing_reason: str
    currency: str
    subtotal: int
    tax_amount: int
    tax_lines: list[TaxLine]
    reverse_charge: bool
    wallet_applied: int
    total: int
    refunded_amount: int
    invoice_number: str | None
    lines: list[Line]
    refunds: list[RefundRow]
    credit_notes: list[CreditNoteRow]
    custom_fields: dict[str, str]
    invoice_url: str | None
    receipt_url: str | None
    payable: bool
    payment_error: str
    """Why the latest charge failed (unpaid orders), in the customer's language."""
    needs_confirmation: bool
    """The bank asks the customer to authenticate the payment (3-D Secure): Confirm, not a pay form."""


class CardOption(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    is_default: bool


class StripeConfirm(msgspec.Struct, frozen=True, kw_only=True):
    """What the Confirm button's Stripe.js needs (a merchant on Stripe only)."""

    key: str
    js: str


class OrdersModel(msgspec.Struct, frozen=True, kw_only=True):
    orders: list[OrderRow]
    """One page, newest first."""
    cards: list[CardOption]
    stripe: StripeConfirm | None
    read_only: bool
    older_cursor: str | None
    """Where the next (older) page starts; None on the last page."""
    first_page: bool
    export_url: str
    """Every order as CSV, through a single-use link (``server.portal.documents``)."""


async def card_options(ctx: PortalContext) -> list[CardOption]:
    """The customer's cards that can pay an order (an expired one would only be declined), the default
    first."""
    return [
        CardOption(
            id=str(m.id),
            label=f"{m.brand.title()} •••• {m.last4} ({m.exp_month:02d}/{m.exp_year % 100:02d})",
            is_default=bool(m.is_default),
        )
        for m in await list_payment_methods(ctx.org.id, ctx.customer.id)
        if not card_expired(m)
    ]


async def stripe_confirm(ctx: PortalContext) -> StripeConfirm | None:
    config = await payment_providers.get_config(ctx.org.id)
    if config is None:
        return None
    return StripeConfirm(key=config.publishable_key, js=payment_providers.stripe_js_url())


def _fields(value: Any) -> dict[str, str]:
    raw = msgspec.json.decode(value) if isinstance(value, str | bytes) else (value or {})
    return {str(k): str(v) for k, v in raw.items()}


async def load(ctx: PortalContext, params: Params) -> OrdersModel:
    org_id, customer_id = ctx.org.id, ctx.customer.id
    cursor = params.get("cursor") or None
    try:
        page = await list_orders(
            org_id, customer_id=customer_id, limit=PAGE_SIZE, cursor=cursor, newest_first=True
        )
    except Invalid:  # a mangled link: start from the newest
        cursor = None
        page = await list_orders(org_id, customer_id=customer_id, limit=PAGE_SIZE, newest_first=True)
    lines_of, refunds_of = await lines_and_refunds(org_id, [order.id for order in page.items])
    notes_of = await credit_notes_by_order(org_id, [order.id for order in page.items])
    rows = []
    for order in page.items:
        lines, refunds = lines_of[str(order.id)], refunds_of[str(order.id)]
        paid = order.status in PAID_STATUSES
        rows.append(
            OrderRow(
                id=str(order.id),
                created_at=order.created_at,
                status=order.status,
                billing_reason=order.billing_reason,
                currency=order.currency,
                subtotal=int(order.subtotal),
                tax_amount=int(order.tax_amount),
                tax_lines=msgspec.convert(json_value(order.tax_lines) or [], list[TaxLine]),
                reverse_charge=bool(order.reverse_charge),
                wallet_applied=int(order.wallet_applied),
                total=int(order.total),
                refunded_amount=int(order.refunded_amount),
                invoice_number=order.invoice_number,
                lines=[
                    Line(
                        description=line.description,
                        quantity=int(line.quantity),
                        amount=int(line.amount),
                        period_start=line.period_start,
                        period_end=line.period_end,
                    )
                    for line in lines
                ],
                credit_notes=[
                    CreditNoteRow(
                        number=note.number,
                        total=int(note.total),
                        issued_at=note.issued_at,
                        pdf_url=document_path("credit_note", note.id),
                    )
                    for note in notes_of[str(order.id)]
                ],
                refunds=[
                    RefundRow(amount=int(r.amount), destination=r.destination, created_at=r.created_at)
                    for r in refunds
                ],
                custom_fields=_fields(order.custom_field_data),
                invoice_url=document_path("invoice", order.id),
                receipt_url=document_path("receipt", order.id) if paid else None,
                payable=order.status == OrderStatus.PENDING and not ctx.scopes.read_only,
                payment_error=(
                    decline_reason(order.last_payment_error)
                    if order.status == OrderStatus.PENDING and order.last_payment_error
                    else ""
                ),
                needs_confirmation=awaits_confirmation(order),
            )
        )
    return OrdersModel(
        export_url=document_path("orders_csv", ctx.customer.id),
        orders=rows,
        cards=await card_options(ctx),
        stripe=await stripe_confirm(ctx),
        read_only=ctx.scopes.read_only,
        older_cursor=page.next_cursor,
        first_page=cursor is None,
    )


class OrderForm(Form, frozen=True):
    order_id: UUID
    prompts = {"order_id": lambda: _("Please choose %(what)s.", what=_("an order"))}


class PayForm(OrderForm, frozen=True):
    payment_method_id: UUID | None = None
    """Empty: the default card."""
    prompts = {
        **OrderForm.prompts,
        "payment_method_id": lambda: _("Please choose %(what)s.", what=_("a card")),
    }


async def pay(ctx: PortalContext, form: PayForm) -> ActionResult:
    order = await pay_order(
        ctx.org.id, form.order_id, customer_id=ctx.customer.id, payment_method_id=form.payment_method_id
    )
    return ActionResult(
        message=_("Thank you, the payment went through."),
        events=[{"type": "order.paid", "data": {"id": str(order.id), "status": order.status}}],
    )


async def confirm_payment(ctx: PortalContext, form: OrderForm) -> ActionResult:
    """The customer went through the bank's challenge in the page: Stripe says whether it is paid."""
    order = await stripe_events.confirm_payment(ctx.org.id, ctx.customer.id, form.order_id)
    return ActionResult(
        message=_("Thank you, the payment went through."),
        events=[{"type": "order.paid", "data": {"id": str(order.id), "status": order.status}}],
    )


VIEW = View(
    slug="orders", title="Orders", load=load, actions={"pay": pay, "confirm_payment": confirm_payment}
)
