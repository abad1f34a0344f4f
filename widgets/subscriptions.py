"""Subscriptions: status, cycle, amount, next charge and next-invoice preview, seats; and every flow the
merchant allows — cancel (with a review step), uncancel, change plan or seats with a proration preview,
assign / revoke / resend seats, pause and resume, clear a scheduled change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from server.analytics import portal_analytics
from server.auth.sessions import PortalContext
from server.billing import orders
from server.billing.providers import decline_reason
from server.billing.schemas import Discount, current_discount
from server.catalog import service as catalog
from server.catalog.schemas import PriceOut, ProductOut
from server.discounts.service import DiscountRefused
from server.enums import LIVE, OrderStatus, PriceKind, SeatStatus
from server.enums import SubscriptionStatus as Status
from server.errors import DomainError, Invalid
from server.i18n import format_amount, format_day, format_rate, ngettext
from server.i18n import gettext as _
from server.retention import service as retention
from server.retention.schemas import RetentionOfferOut
from server.schemas.portal_settings import Features, load_portal_settings
from server.subscriptions import seat_invitations, seats
from server.subscriptions import service as subscriptions
from server.subscriptions.service import PAUSABLE, CancelPreview, ChangePreview, InvoicePreview
from widgets.base import ActionResult, Form, Params, SubscriptionForm, View
from widgets.orders import (
    CardOption,
    StripeConfirm,
    card_options,
    confirm_payment,
    pay,
    stripe_confirm,
)

Flow = Literal["", "cancel", "change_plan", "change_seats"]
FLOWS = ("cancel", "change_plan", "change_seats")


class SeatRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    status: str
    invited_at: datetime


class PlanOption(msgspec.Struct, frozen=True, kw_only=True):
    price_id: str
    product_name: str
    amount: int
    currency: str
    interval: str
    preview: ChangePreview
    code: str
    """The promotion code this preview counts (sent again on confirming); empty when none."""
    discount_terms: str
    """What the code's discount gives, in the customer's words; empty without a code."""
    code_refused: str
    """Why the code typed does not work for this plan, in the customer's language; empty when it does."""


class UnpaidOrder(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    invoice_number: str | None
    total: int
    currency: str
    payment_error: str
    needs_confirmation: bool
    """The bank asks the customer to authenticate the payment (3-D Secure): Confirm, not a pay form."""


class SubscriptionRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    product_name: str
    status: str
    interval: str
    currency: str
    amount: int
    """What one period costs now (base plus seats)."""
    per_seat: bool
    seats: int
    min_seats: int
    max_seats: int | None
    current_period_end: datetime
    trial_end: datetime | None
    cancel_at_period_end: bool
    ended_at: datetime | None
    paused: bool
    pausable: bool
    pending_plan: str | None
    pending_seats: int | None
    next_invoice: InvoicePreview | None
    seat_list: list[SeatRow]
    """Every seat given, revoked ones included (they can be given back)."""
    seats_used: int
    """Seats held by someone (pending or claimed)."""
    unpaid: list[UnpaidOrder]
    """Its orders still waiting for a payment, newest first."""
    live: bool
    discount: str
    """The discount running on it, in the customer's words; empty when none."""


class CancelFlow(msgspec.Struct, frozen=True, kw_only=True):
    step: Literal["choose", "offer", "review"]
    at_period_end: bool
    reason: str
    comment: str
    preview: CancelPreview
    """What confirming will do, from the service that then does it."""
    offer: retention.Offer | None = None
    """The merchant's offer for the reason given (the ``offer`` step), as the retention service has it."""
    offer_terms: str = ""
    """A coupon offer's discount in the customer's words."""


class SubscriptionsModel(msgspec.Struct, frozen=True, kw_only=True):
    subscriptions: list[SubscriptionRow]
    features: Features
    read_only: bool
    flow: Flow
    focus: str | None
    cancel: CancelFlow | None
    plans: list[PlanOption]
    seat_preview: ChangePreview | None
    promotion_code: str
    """The code typed in the change-plan flow."""
    code_refused: str
    """Why it works for none of the plans, in the customer's language; empty otherwise."""
    cards: list[CardOption]
    """To pay an unpaid order with (loaded only when there is one)."""
    stripe: StripeConfirm | None
    """What a Confirm button needs (an unpaid order waiting for the customer's confirmation on Stripe)."""


async def _prices(ctx: PortalContext) -> dict[str, tuple[ProductOut, PriceOut]]:
    products = await catalog.list_products(ctx.org.id, limit=100)
    views = await catalog.product_views(ctx.org.id, products.items)
    return {price.id: (product, price) for product in views for price in product.prices}


async def load(ctx: PortalContext, params: Params) -> SubscriptionsModel:
    org_id, customer_id = ctx.org.id, ctx.customer.id
    features = load_portal_settings(ctx.org).features
    subs = await subscriptions.list_subscriptions(org_id, customer_id=customer_id)
    prices = await catalog.prices_with_products(
        org_id, [s.price for s in subs] + [s.pending_price for s in subs if s.pending_price]
    )
    unpaid: dict[str, list[UnpaidOrder]] = {}
    for order in await orders.unpaid_orders(org_id, customer_id):
        unpaid.setdefault(str(order.subscription), []).append(
            UnpaidOrder(
                id=str(order.id),
                invoice_number=order.invoice_number,
                total=int(order.total),
                currency=order.currency,
                payment_error=decline_reason(order.last_payment_error) if order.last_payment_error else "",
                needs_confirmation=orders.awaits_confirmation(order),
            )
        )
    rows = []
    for sub in subs:
        price = prices[str(sub.price)]
        live = sub.status in LIVE
        next_invoice = None
        if live and not sub.cancel_at_period_end and sub.status != Status.PAUSED:
            try:
                next_invoice = await subscriptions.preview_next_invoice(
                    org_id, sub.id, customer_id=customer_id, subscription=sub
                )
            except DomainError:
                next_invoice = None
        seat_list = []
        if price.kind == PriceKind.PER_SEAT and live:
            seat_list = [
                SeatRow(id=str(s.id), email=s.email, status=s.status, invited_at=s.invited_at)
                for s in sorted(
                    await seats.list_seats(org_id, sub.id, customer_id=customer_id, subscription=sub),
                    key=lambda seat: seat.status == SeatStatus.REVOKED,
                )
            ]
        pending = prices.get(str(sub.pending_price)) if sub.pending_price else None
        rows.append(
            SubscriptionRow(
                id=str(sub.id),
                product_name=price.product.name,
                status=sub.status,
                interval=price.interval,
                currency=sub.currency,
                amount=subscriptions.period_amount(price, int(sub.seats)),
                per_seat=price.kind == PriceKind.PER_SEAT,
                seats=int(sub.seats),
                min_seats=price.min_seats,
                max_seats=price.max_seats,
                current_period_end=sub.current_period_end,
                trial_end=sub.trial_end,
                cancel_at_period_end=bool(sub.cancel_at_period_end),
                ended_at=sub.ended_at,
                paused=sub.status == Status.PAUSED,
                pausable=sub.status == PAUSABLE,
                pending_plan=pending.product.name if pending else None,
                pending_seats=sub.pending_seats,
                next_invoice=next_invoice,
                seat_list=seat_list,
                seats_used=sum(1 for seat in seat_list if seat.status in seats.LIVE_SEATS),
                unpaid=unpaid.get(str(sub.id), []),
                live=live,
                discount=discount_terms(running) if (running := current_discount(sub.discount)) else "",
            )
        )
    flow: Flow = params.get("action", "") if params.get("action") in FLOWS else ""  # type: ignore[assignment]
    focus = params.get("subscription_id") if flow else None
    if flow and not any(row.id == focus and row.live for row in rows):
        flow, focus = "", None
    cancel_flow, plans, seat_preview = None, [], None
    code = params.get("promotion_code", "").strip()[:40] if flow == "change_plan" else ""
    if flow and focus and not ctx.scopes.read_only:
        target = UUID(focus)
        if flow == "cancel":
            cancel_flow = await _cancel_flow(ctx, target, params, features)
            await _record_cancel_step(ctx, focus, cancel_flow)
        elif flow == "change_plan":
            plans = await _plan_options(ctx, target, await _prices(ctx), code)
        elif flow == "change_seats" and params.get("seats", "").isdigit():
            seat_preview = await subscriptions.preview_seat_change(
                org_id, target, int(params["seats"]), customer_id=customer_id
            )
    return SubscriptionsModel(
        subscriptions=rows,
        features=features,
        read_only=ctx.scopes.read_only,
        flow=flow,
        focus=focus,
        cancel=cancel_flow,
        plans=plans,
        seat_preview=seat_preview,
        promotion_code=code,
        code_refused=(
            plans[0].code_refused if code and plans and all(plan.code_refused for plan in plans) else ""
        ),
        cards=await card_options(ctx) if unpaid and not ctx.scopes.read_only else [],
        stripe=await stripe_confirm(ctx) if unpaid and not ctx.scopes.read_only else None,
    )


async def _cancel_flow(
    ctx: PortalContext, subscription_id: UUID, params: Params, features: Features
) -> CancelFlow:
    at_period_end = params.get("when", "period_end") != "now" or not features.immediate_cancel
    reason = params.get("reason", "")
    if reason and reason not in features.cancellation_reasons:
        reason = ""
    preview = await subscriptions.preview_cancel(
        ctx.org.id, subscription_id, customer_id=ctx.customer.id, at_period_end=at_period_end
    )
    offer = None
    if params.get("step") == "review":
        offer = await retention.present(
            ctx.org.id, ctx.customer.id, subscription_id, reason, read_only=ctx.scopes.read_only
        )
    return CancelFlow(
        step="choose" if params.get("step") != "review" else "offer" if offer else "review",
        at_period_end=at_period_end,
        reason=reason,
        comment=params.get("comment", "")[:2000],
        preview=preview,
        offer=offer,
        offer_terms=discount_terms(offer.discount.discount) if offer and offer.discount else "",
    )


async def _record_cancel_step(ctx: PortalContext, subscription_id: str, flow: CancelFlow) -> None:
    """The cancel funnel: opening the flow, then choosing a reason (and being shown an offer for it)."""
    steps = []
    if flow.step == "choose":
        steps.append((portal_analytics.CANCEL_STARTED, {"subscription_id": subscription_id}))
    elif flow.reason:
        steps.append(
            (portal_analytics.CANCEL_REASON, {"subscription_id": subscription_id, "reason": flow.reason})
        )
    if flow.offer is not None:
        shown = {"subscription_id": subscription_id, "reason": flow.reason, "offer": flow.offer.kind}
        steps.append((portal_analytics.OFFER_SHOWN, shown))
    for name, properties in steps:
        await portal_analytics.record(
            ctx.org.id, ctx.customer.id, name, session_id=ctx.session_id, properties=properties
        )


def refusal_message(reason: str) -> str:
    """Why a promotion code cannot be used, as the customer reads it."""
    messages = {
        "unknown": _("We do not know this code. Please check it and try again."),
        "inactive": _("This code is no longer offered."),
        "expired": _("This code has expired."),
        "used_up": _("This code has been used as often as it can be."),
        "already_used": _("You have already used this code."),
        "not_applicable": _("This code does not apply to this plan."),
        "currency": _("This code is for another currency."),
    }
    return messages.get(reason, messages["unknown"])


def discount_terms(discount: Discount) -> str:
    """A discount as the customer reads it: how much off, and for how long."""
    if discount.percent_off is not None:
        off = format_rate(discount.percent_off)
    else:
        off = format_amount(int(discount.amount_off or 0), discount.currency or "")
    if discount.duration == "forever":
        return _("%(name)s: %(off)s off every invoice.", name=discount.name, off=off)
    periods = int(discount.periods_left or 1)
    if periods == 1:
        return _("%(name)s: %(off)s off your next invoice.", name=discount.name, off=off)
    return ngettext(
        "%(name)s: %(off)s off your next %(num)d invoice.",
        "%(name)s: %(off)s off your next %(num)d invoices.",
        periods,
        name=discount.name,
        off=off,
    )


async def _plan_options(
    ctx: PortalContext, subscription_id: UUID, known: dict[str, tuple[ProductOut, PriceOut]], code: str
) -> list[PlanOption]:
    """Every price the service would let this subscription switch to, with its preview (counting the
    promotion code typed, where it applies)."""
    options = []
    for price_id, (product, price) in known.items():
        refused = ""
        try:
            try:
                preview = await subscriptions.preview_plan_change(
                    ctx.org.id,
                    subscription_id,
                    UUID(price_id),
                    customer_id=ctx.customer.id,
                    promotion_code=code or None,
                )
            except DiscountRefused as exc:
                refused = refusal_message(exc.reason)
                preview = await subscriptions.preview_plan_change(
                    ctx.org.id, subscription_id, UUID(price_id), customer_id=ctx.customer.id
                )
        except DomainError:
            continue
        options.append(
            PlanOption(
                price_id=price_id,
                product_name=product.name,
                amount=preview.new_amount,
                currency=price.currency,
                interval=price.interval,
                preview=preview,
                code=code if code and not refused else "",
                discount_terms=discount_terms(preview.discount)
                if code and preview.discount and not refused
                else "",
                code_refused=refused,
            )
        )
    return sorted(options, key=lambda option: option.amount)


def _updated(sub_id: object, status: str, kind: str = "subscription.updated") -> list[dict[str, object]]:
    return [{"type": kind, "data": {"id": str(sub_id), "status": status}}]


class CancelForm(SubscriptionForm, frozen=True):
    when: Literal["now", "period_end"] = "period_end"
    reason: str | None = None
    """One of the service's cancellation reasons (it refuses any other)."""
    comment: str = ""


async def cancel(ctx: PortalContext, form: CancelForm) -> ActionResult:
    sub = await subscriptions.cancel_subscription(
        ctx.org.id,
        form.subscription_id,
        customer_id=ctx.customer.id,
        at_period_end=form.when == "period_end",
        reason=form.reason,
        comment=form.comment,
    )
    await portal_analytics.record(
        ctx.org.id,
        ctx.customer.id,
        portal_analytics.CANCEL_COMPLETED,
        session_id=ctx.session_id,
        properties={"subscription_id": str(sub.id), "reason": sub.cancellation_reason or ""},
    )
    if sub.cancel_at_period_end:
        message = _(
            "Your subscription will end on %(date)s. You can undo this until then.",
            date=format_day(sub.current_period_end),
        )
    else:
        message = _("Your subscription has ended.")
    return ActionResult(message=message, events=_updated(sub.id, sub.status, "subscription.canceled"))


class OfferForm(Form, frozen=True):
    offer_id: UUID
    prompts = {"offer_id": lambda: _("This offer is no longer available.")}


class DeclineForm(OfferForm, frozen=True):
    """Declining goes on to the cancellation's review of the offer's subscription, with what the customer
    chose before the offer (passed on as they were)."""

    when: str = ""
    reason: str = ""
    comment: str = ""


async def _record_answer(ctx: PortalContext, answered: RetentionOfferOut) -> list[dict[str, object]]:
    """The funnel's answer to an offer, and the loader event of the same meaning (ids and status only)."""
    name = (
        portal_analytics.OFFER_ACCEPTED if answered.outcome == "accepted" else portal_analytics.OFFER_DECLINED
    )
    properties = {
        "subscription_id": answered.subscription_id,
        "reason": answered.reason,
        "offer": answered.kind,
        "monthly_revenue_kept": str(answered.monthly_revenue_kept),
        "currency": answered.currency,
    }
    await portal_analytics.record(
        ctx.org.id, ctx.customer.id, name, session_id=ctx.session_id, properties=properties
    )
    kind = f"subscription.retention_offer_{answered.outcome}"
    data = {"id": answered.id, "subscription_id": answered.subscription_id, "status": answered.outcome}
    return [{"type": kind, "data": data}]


async def accept_offer(ctx: PortalContext, form: OfferForm) -> ActionResult:
    answered = await retention.accept(ctx.org.id, ctx.customer.id, form.offer_id)
    sub = answered.subscription
    events = await _record_answer(ctx, answered) + _updated(sub.id, sub.status)
    if answered.kind == "pause" and sub.resumes_at is not None:
        message = _("Your subscription is paused until %(date)s.", date=format_day(sub.resumes_at))
    elif answered.kind == "plan" and sub.pending_price_id is not None:
        message = _("Your plan will change on %(date)s.", date=format_day(sub.current_period_end))
    elif answered.kind == "plan":
        message = _("Your plan has changed.")
    else:
        running = sub.discount
        message = _("Your discount is applied.") + (" " + discount_terms(running) if running else "")
    return ActionResult(message=message, events=events)


async def decline_offer(ctx: PortalContext, form: DeclineForm) -> ActionResult:
    """No to the offer: on to the cancellation's review, with what the customer chose before."""
    answered = await retention.decline(ctx.org.id, ctx.customer.id, form.offer_id)
    chosen = {"when": form.when, "reason": form.reason, "comment": form.comment}
    return ActionResult(
        message=_("You declined the offer."),
        events=await _record_answer(ctx, answered),
        then={"action": "cancel", "subscription_id": answered.subscription_id, "step": "review", **chosen},
    )


async def uncancel(ctx: PortalContext, form: SubscriptionForm) -> ActionResult:
    sub = await subscriptions.uncancel_subscription(
        ctx.org.id, form.subscription_id, customer_id=ctx.customer.id
    )
    return ActionResult(
        message=_("Your subscription will continue."),
        events=_updated(sub.id, sub.status, "subscription.uncanceled"),
    )


def _changed(done: str, change: subscriptions.Change) -> ActionResult:
    """``done`` and what happened to the payment the change took: charged, paid with credit, or declined
    (then the message says so, and the subscription shows how to pay)."""
    sub, order = change.subscription, change.order
    message, problem = done, False
    if order is not None and order.status == OrderStatus.PENDING:
        amount = format_amount(int(order.total), order.currency)
        reason = decline_reason(order.last_payment_error)
        message += " " + _(
            "But the payment of %(amount)s failed: %(reason)s Pay it now below, or update your card.",
            amount=amount,
            reason=reason,
        )
        problem = True
    elif order is not None and int(order.total) > 0:
        message += " " + _(
            "%(amount)s was charged to your card.", amount=format_amount(int(order.total), order.currency)
        )
    elif order is not None:
        message += " " + _("It was paid with your credit.")
    return ActionResult(message=message, events=_updated(sub.id, sub.status), problem=problem)


class PlanForm(SubscriptionForm, frozen=True):
    price_id: UUID
    promotion_code: str | None = None
    prompts = {**SubscriptionForm.prompts, "price_id": lambda: _("Please choose a plan.")}


async def change_plan(ctx: PortalContext, form: PlanForm) -> ActionResult:
    try:
        change = await subscriptions.change_plan(
            ctx.org.id,
            form.subscription_id,
            form.price_id,
            customer_id=ctx.customer.id,
            promotion_code=form.promotion_code,
        )
    except DiscountRefused as exc:
        raise Invalid(refusal_message(exc.reason)) from exc
    if change.subscription.pending_price:
        return _changed(_("Your plan will change at the end of this period."), change)
    return _changed(_("Your plan has changed."), change)


class SeatsForm(SubscriptionForm, frozen=True):
    seats: Annotated[int, msgspec.Meta(ge=0)]
    """How many the customer wants (the service says which counts the plan allows)."""
    prompts = {**SubscriptionForm.prompts, "seats": lambda: _("Please enter the number of seats.")}


async def change_seats(ctx: PortalContext, form: SeatsForm) -> ActionResult:
    change = await subscriptions.change_seats(
        ctx.org.id, form.subscription_id, form.seats, customer_id=ctx.customer.id
    )
    seats_now = int(change.subscription.seats)
    return _changed(ngettext("You now have %(num)d seat.", "You now have %(num)d seats.", seats_now), change)


async def pause(ctx: PortalContext, form: SubscriptionForm) -> ActionResult:
    sub = await subscriptions.pause_subscription(
        ctx.org.id, form.subscription_id, customer_id=ctx.customer.id
    )
    return ActionResult(message=_("Your subscription is paused."), events=_updated(sub.id, sub.status))


async def resume(ctx: PortalContext, form: SubscriptionForm) -> ActionResult:
    sub = await subscriptions.resume_subscription(
        ctx.org.id, form.subscription_id, customer_id=ctx.customer.id
    )
    return ActionResult(message=_("Your subscription is active again."), events=_updated(sub.id, sub.status))


async def clear_change(ctx: PortalContext, form: SubscriptionForm) -> ActionResult:
    sub = await subscriptions.clear_scheduled_change(
        ctx.org.id, form.subscription_id, customer_id=ctx.customer.id
    )
    return ActionResult(message=_("The scheduled change was cancelled."), events=_updated(sub.id, sub.status))


class SeatForm(Form, frozen=True):
    seat_id: UUID
    prompts = {"seat_id": lambda: _("Please choose a seat.")}


def _seat_event(kind: str, seat_id: object, sub_id: object) -> list[dict[str, object]]:
    return [{"type": kind, "data": {"id": str(seat_id), "subscription_id": str(sub_id)}}]


class InviteForm(SubscriptionForm, frozen=True):
    email: str = ""
    """Checked by the invitation service."""


async def assign_seat(ctx: PortalContext, form: InviteForm) -> ActionResult:
    seat, _token = await seat_invitations.invite(
        ctx.keyring, ctx.public_url, ctx.org, form.subscription_id, form.email, customer_id=ctx.customer.id
    )
    return ActionResult(
        message=_("Invitation sent to %(email)s.", email=seat.email),
        events=_seat_event("customer_seat.assigned", seat.id, seat.subscription),
    )


async def revoke_seat(ctx: PortalContext, form: SeatForm) -> ActionResult:
    seat = await seats.revoke_seat(ctx.org.id, form.seat_id, customer_id=ctx.customer.id)
    return ActionResult(
        message=_("%(email)s no longer has a seat.", email=seat.email),
        events=_seat_event("customer_seat.revoked", seat.id, seat.subscription),
    )


async def resend_seat(ctx: PortalContext, form: SeatForm) -> ActionResult:
    await seat_invitations.reinvite(
        ctx.keyring, ctx.public_url, ctx.org, form.seat_id, customer_id=ctx.customer.id
    )
    return ActionResult(message=_("Invitation sent again."))


VIEW = View(
    slug="subscriptions",
    title="Subscriptions",
    load=load,
    actions={
        "cancel": cancel,
        "accept_offer": accept_offer,
        "decline_offer": decline_offer,
        "uncancel": uncancel,
        "change_plan": change_plan,
        "change_seats": change_seats,
        "pause": pause,
        "resume": resume,
        "clear_change": clear_change,
        "assign_seat": assign_seat,
        "revoke_seat": revoke_seat,
        "resend_seat": resend_seat,
        "pay": pay,
        "confirm_payment": confirm_payment,
    },
)
