"""Orders (each one is also its invoice): creation, payment, dunning, manual retries, refunds and documents.

Statuses (design/ANCHORS.md): draft → pending → paid → partially_refunded / refunded, or void.

Charging never happens inside a database transaction. An attempt is first *claimed* with a conditional UPDATE
that moves ``next_payment_attempt_at`` to a short lease in the future, so a second worker, a re-run of a job
or a concurrent portal click cannot charge the same order at the same moment; the result is then recorded with
an UPDATE conditional on the order still being pending. Scheduled attempts charge with an idempotency key made
of the order id and the attempt number, so a job that crashed between charging and recording, and runs again
once the lease is over, gets the provider's first answer instead of charging twice.

Dunning (ANCHORS.md): after the first failed scheduled attempt, retries at +2, +7, +14 and +21 days from that
first failure; when the last one fails, the merchant's ``features.dunning_final_action`` ends the subscription
(``cancel`` voids the order, ``unpaid`` leaves it payable from the portal). Attempts outside that schedule
(a portal retry, a new card) never move it.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server import clock, i18n
from server.benefits import grants
from server.billing import cards, lifecycle, payment_providers
from server.billing.invoice_pdf import (
    DocumentContext,
    render_credit_note,
    render_invoice,
    render_receipt,
)
from server.billing.providers import ChargeResult, decline_message
from server.billing.schemas import OrderOut
from server.db.engine import write_transaction
from server.db.pagination import DEFAULT_LIMIT, Page, paginate
from server.db.tables import (
    CreditNote,
    Customer,
    InvoiceDocument,
    Order,
    OrderLine,
    Organization,
    PaymentMethod,
    Price,
    Refund,
    Subscription,
)
from server.enums import (
    BillingReason,
    Interval,
    OrderLineKind,
    OrderStatus,
    RefundDestination,
    SubscriptionStatus,
    WalletTransactionKind,
)
from server.errors import Conflict, Invalid, NotFound, PaymentFailed, RateLimited
from server.i18n import gettext
from server.mail.queue import queue_email
from server.money import normalize_currency
from server.schemas.portal_settings import load_portal_settings
from server.tax import service as tax
from server.wallet import service as wallet
from server.webhooks.outbox import record_event

DUNNING_OFFSETS = (timedelta(days=2), timedelta(days=7), timedelta(days=14), timedelta(days=21))
SCHEDULED_ATTEMPTS = 1 + len(DUNNING_OFFSETS)
MAX_MANUAL_ATTEMPTS = 5
PAYMENT_LEASE = timedelta(minutes=5)
ISSUE_ATTEMPTS = 3
MAX_LINE_AMOUNT = 10**13
PAID_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED})


class LineDraft(msgspec.Struct, kw_only=True, frozen=True):
    """One line of an order to create. ``amount`` is what the line costs (negative for a credit, such as
    unused time on a downgrade); ``quantity`` and ``unit_amount`` explain it."""

    kind: str
    description: str
    amount: int
    quantity: int = 1
    unit_amount: int = 0
    price_id: UUID | None = None
    meter_id: UUID | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None


def _check_lines(lines: list[LineDraft]) -> None:
    if not lines:
        raise Invalid("an order needs at least one line")
    for line in lines:
        if line.kind not in set(OrderLineKind):
            raise Invalid(f"unknown line kind {line.kind!r}")
        if not 1 <= len(line.description.strip()) <= 300:
            raise Invalid("a line's description must be 1 to 300 characters")
        for value in (line.amount, line.quantity, line.unit_amount):
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_LINE_AMOUNT:
                raise Invalid("line amounts and quantities are integers (minor units)")
        if line.quantity < 0:
            raise Invalid("a line's quantity cannot be negative")
        if line.period_start and line.period_end and line.period_start > line.period_end:
            raise Invalid("a line's period must not end before it starts")


async def order_views(org_id: UUID, rows: list[Order]) -> list[OrderOut]:
    """Orders as the API returns them, with their lines and refunds (two queries whatever the count)."""
    lines, refunds = await lines_and_refunds(org_id, [o.id for o in rows])
    notes = await credit_notes_by_order(org_id, [o.id for o in rows])
    return [OrderOut.of(o, lines[str(o.id)], refunds[str(o.id)], notes[str(o.id)]) for o in rows]


async def order_event(order: Order) -> OrderOut:
    """The data of an ``order.*`` event: the order as the API returns it."""
    return (await order_views(order.org, [order]))[0]


def amount_due(gross: int, wallet_applied: int) -> int:
    """What is left to charge of an order worth ``gross`` (tax included) once wallet credit paid
    ``wallet_applied`` of it (a negative gross is credited to the wallet and charges nothing)."""
    return max(gross, 0) - wallet_applied


async def _next_invoice_number(org_id: UUID) -> str:
    """The merchant's next number. It is taken inside the order's own transaction, so a rollback gives the
    number back: the sequence stays gapless (the row lock queues concurrent creations on PostgreSQL)."""
    rows = await Organization.raw(
        "UPDATE ss_organization SET last_invoice_number = last_invoice_number + 1 "
        "WHERE id = {} RETURNING last_invoice_number, invoice_prefix",
        org_id,
    )
    if not rows:
        raise NotFound("no such organization")
    return f"{rows[0]['invoice_prefix']}-{int(rows[0]['last_invoice_number']):06d}"


async def create_order(
    org_id: UUID,
    customer_id: UUID,
    *,
    subscription_id: UUID | None,
    billing_reason: str,
    currency: str,
    lines: list[LineDraft],
    period_start: datetime | None = None,
    period_end: datetime | None = None,
) -> Order:
    """A numbered order for ``lines``, wallet credit applied. Call it inside your ``write_transaction()``.

    The order is ``pending`` (charge it with ``attempt_payment`` after your transaction commits) or ``paid``
    when nothing is left to pay. A negative subtotal (credits larger than charges) goes to the wallet."""
    _check_lines(lines)
    if billing_reason not in set(BillingReason):
        raise Invalid(f"unknown billing reason {billing_reason!r}")
    currency = normalize_currency(currency)
    now = clock.now()
    async with write_transaction():
        if not await Customer.exists().where(Customer.id == customer_id, Customer.org == org_id):
            raise NotFound("no such customer")
        if subscription_id is not None and not await Subscription.exists().where(
            Subscription.id == subscription_id,
            Subscription.org == org_id,
            Subscription.customer == customer_id,
        ):
            raise NotFound("no such subscription for this customer")
        taxed = await tax.compute(org_id, customer_id, lines)
        gross = taxed.total
        order = Order(
            id=uuid.uuid4(),
            org=org_id,
            customer=customer_id,
            subscription=subscription_id,
            status=OrderStatus.DRAFT,
            billing_reason=billing_reason,
            currency=currency,
            subtotal=taxed.subtotal,
            tax_amount=taxed.tax_amount,
            tax_lines=msgspec.json.encode(taxed.tax_lines).decode(),
            reverse_charge=taxed.reverse_charge,
            seller_tax_number=taxed.seller_tax_number,
            invoice_number=await _next_invoice_number(org_id),
            invoice_issued_at=now,
            period_start=period_start,
            period_end=period_end,
            created_at=now,
        )
        await order.save()
        await OrderLine.insert(
            *(
                OrderLine(
                    org=org_id,
                    order=order.id,
                    kind=line.kind,
                    description=line.description.strip(),
                    quantity=line.quantity,
                    unit_amount=line.unit_amount,
                    amount=line.amount,
                    net=line_tax.net,
                    tax_amount=line_tax.tax,
                    tax_name=line_tax.name,
                    tax_rate=line_tax.rate,
                    price=line.price_id,
                    meter=line.meter_id,
                    period_start=line.period_start,
                    period_end=line.period_end,
                    position=position,
                )
                for position, (line, line_tax) in enumerate(zip(lines, taxed.lines, strict=True))
            )
        )
        note = f"Order {order.invoice_number}"
        if gross > 0:
            order.wallet_applied = await wallet.apply_to_order(
                org_id, customer_id, order.id, currency, gross, note
            )
        elif gross < 0:
            await wallet.credit(
                org_id,
                customer_id,
                -gross,
                currency,
                WalletTransactionKind.ADJUSTMENT,
                note,
                order_id=order.id,
            )
        order.total = amount_due(gross, order.wallet_applied)
        order.status = OrderStatus.PENDING if order.total > 0 else OrderStatus.PAID
        order.paid_at = now if order.status == OrderStatus.PAID else None
        await order.save([Order.wallet_applied, Order.total, Order.status, Order.paid_at])
        await record_event(org_id, "order.created", await order_event(order))
        if order.status == OrderStatus.PAID:
            await record_event(org_id, "order.paid", await order_event(order))
    return order


async def purchase(org_id: UUID, customer_id: UUID, price_id: UUID) -> Order:
    """Buy a one-time price: an order for it with the product's benefits given for good, charged at once
    to the customer's default card (a decline leaves it pending, payable from the portal)."""
    price = await Price.objects(Price.product).where(Price.org == org_id, Price.id == price_id).first()
    if price is None:
        raise NotFound(f"no price {price_id}")
    if price.interval != Interval.ONE_TIME or price.archived_at is not None:
        raise Invalid("a purchase needs a one_time price that is not archived")
    line = LineDraft(
        kind=OrderLineKind.ONE_TIME,
        description=price.product.name,
        amount=int(price.amount),
        unit_amount=int(price.amount),
        price_id=price.id,
    )
    async with write_transaction():
        order = await create_order(
            org_id,
            customer_id,
            subscription_id=None,
            billing_reason=BillingReason.PURCHASE,
            currency=price.currency,
            lines=[line],
        )
        await grants.grant_purchase(org_id, order, price.product.id)
    await attempt_payment(org_id, order.id)
    return await get_order(org_id, order.id)


async def get_order(org_id: UUID, order_id: UUID, *, customer_id: UUID | None = None) -> Order:
    query = Order.objects().where(Order.id == order_id, Order.org == org_id)
    if customer_id is not None:
        query = query.where(Order.customer == customer_id)
    order = await query.first()
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order


async def list_orders(
    org_id: UUID,
    *,
    customer_id: UUID | None = None,
    subscription_id: UUID | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    newest_first: bool = False,
) -> Page[Order]:
    """Orders oldest (or newest) first in keyset pages, optionally of one customer, subscription or status."""
    query = Order.objects().where(Order.org == org_id, Order.status != OrderStatus.DRAFT)
    if customer_id is not None:
        query = query.where(Order.customer == customer_id)
    if subscription_id is not None:
        query = query.where(Order.subscription == subscription_id)
    if status is not None:
        query = query.where(Order.status == status)
    return await paginate(query, Order, limit=limit, cursor=cursor, newest_first=newest_first)


async def unpaid_orders(org_id: UUID, customer_id: UUID, *, failed_only: bool = False) -> list[Order]:
    """The customer's orders still waiting for a payment, newest first; ``failed_only``: those whose charge
    failed (a new default card retries them), not those still to be tried."""
    query = Order.objects().where(
        Order.org == org_id, Order.customer == customer_id, Order.status == OrderStatus.PENDING
    )
    if failed_only:
        query = query.where(Order.payment_attempts > 0)
    return list(await query.order_by(Order.created_at, ascending=False))


async def list_order_lines(
    org_id: UUID, order_id: UUID, *, customer_id: UUID | None = None
) -> list[OrderLine]:
    order = await get_order(org_id, order_id, customer_id=customer_id)
    return list(await OrderLine.objects().where(OrderLine.order == order.id).order_by(OrderLine.position))


async def list_refunds(org_id: UUID, order_id: UUID, *, customer_id: UUID | None = None) -> list[Refund]:
    order = await get_order(org_id, order_id, customer_id=customer_id)
    return list(await Refund.objects().where(Refund.order == order.id).order_by(Refund.created_at))


# --- payment -----------------------------------------------------------------------------------------------


async def _default_method(order: Order) -> PaymentMethod | None:
    """The subscription's own card if it has one, else the customer's default."""
    if order.subscription is not None:
        sub = (
            await Subscription.select(Subscription.default_payment_method)
            .where(Subscription.id == order.subscription)
            .first()
        )
        if sub and sub["default_payment_method"]:
            method = (
                await PaymentMethod.objects().where(PaymentMethod.id == sub["default_payment_method"]).first()
            )
            if method is not None:
                return method
    return await cards.get_default_payment_method(order.org, order.customer)


async def _claim(order: Order, *, scheduled: bool, manual: bool = False) -> bool:
    """Take the right to charge ``order`` now (see the module docstring); False if someone else holds it,
    the attempt is not due, or the order changed since it was read."""
    now = clock.now()
    lease_until = now + PAYMENT_LEASE
    when = Order.next_payment_attempt_at
    free = when.is_null() | (when <= now)
    if not scheduled:  # anything but a running lease: a future schedule is fine, it is restored afterwards
        free = free | (when > lease_until)
    changes: dict[Any, Any] = {when: lease_until}
    if manual:
        changes[Order.manual_payment_attempts] = Order.manual_payment_attempts + 1
    query = Order.update(changes).where(
        Order.id == order.id,
        Order.status == OrderStatus.PENDING,
        Order.payment_attempts == order.payment_attempts,
        free,
    )
    if manual:
        query = query.where(Order.manual_payment_attempts < MAX_MANUAL_ATTEMPTS)
    return bool(await query.returning(Order.id))


async def _charge(order: Order, method: PaymentMethod | None, idempotency_key: str) -> ChargeResult:
    if method is None:
        code = "no_payment_method"
        return ChargeResult(succeeded=False, decline_code=code, message=decline_message(code))
    provider = await payment_providers.provider_for(order.org, method.provider)
    return await provider.charge(
        method.provider_ref,
        int(order.total),
        order.currency,
        idempotency_key=idempotency_key,
        order_id=str(order.id),
    )


async def _set_subscription_status(order: Order, status: SubscriptionStatus, *, only_from: set[str]) -> None:
    if order.subscription is not None:
        await lifecycle.follow_payment(order.org, order.subscription, status, only_from=only_from)


async def _record_success(order: Order, method: PaymentMethod, payment_ref: str, *, scheduled: bool) -> bool:
    now = clock.now()
    async with write_transaction():
        rows = await Order.raw(
            "UPDATE ss_order SET status = 'paid', paid_at = {}, payment_method = {}, payment_ref = {}, "
            "next_payment_attempt_at = NULL, payment_attempts = payment_attempts + {}, "
            "last_payment_error = '', awaits_confirmation = FALSE "
            "WHERE id = {} AND status = 'pending' RETURNING id",
            now,
            method.id,
            payment_ref,
            1 if scheduled else 0,
            order.id,
        )
        if not rows:
            return False
        paid = await get_order(order.org, order.id)
        await record_event(order.org, "order.paid", await order_event(paid))
        await _set_subscription_status(
            order,
            SubscriptionStatus.ACTIVE,
            only_from={SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID},
        )
    return True


def next_dunning_attempt(
    failures: int, failed_at: datetime, scheduled_for: datetime | None
) -> datetime | None:
    """When to try again after the ``failures``-th failed scheduled attempt, or None when dunning is over.

    The first failure anchors the schedule; later attempts ran at ``scheduled_for`` = anchor + an offset, so
    the anchor is recovered exactly even when the job ran late."""
    if failures >= SCHEDULED_ATTEMPTS:
        return None
    if failures == 1 or scheduled_for is None:
        anchor = failed_at
    else:
        anchor = scheduled_for - DUNNING_OFFSETS[failures - 2]
    return anchor + DUNNING_OFFSETS[failures - 1]


def awaits_confirmation(order: Order) -> bool:
    """The bank asked the customer to authenticate the order's latest payment (3-D Secure): the order stays
    unpaid until they confirm it in the portal, and is not charged again off-session meanwhile."""
    return order.status == OrderStatus.PENDING and bool(order.awaits_confirmation)


# A failed payment recorded as payment_ref leaves the order waiting for the customer only when that is the
# payment they are to confirm and it still needs them: "awaits_confirmation = (awaits_confirmation AND
# payment_ref = {payment_ref} AND {needs_confirmation})"; _await_confirmation starts the wait.


async def _record_scheduled_failure(
    order: Order, method: PaymentMethod | None, scheduled_for: datetime | None, result: ChargeResult
) -> None:
    failures = int(order.payment_attempts) + 1
    next_at = next_dunning_attempt(failures, clock.now(), scheduled_for)
    async with write_transaction():
        rows = await Order.raw(
            "UPDATE ss_order SET payment_attempts = {}, next_payment_attempt_at = {}, payment_method = {}, "
            "last_payment_error = {}, payment_ref = {}, "
            "awaits_confirmation = (awaits_confirmation AND payment_ref = {} AND {}) "
            "WHERE id = {} AND status = 'pending' AND payment_attempts = {} RETURNING id",
            failures,
            next_at,
            method.id if method else None,
            _error_text(result.message),
            result.reference,
            result.reference,
            result.needs_confirmation,
            order.id,
            order.payment_attempts,
        )
        if not rows:
            return
        if result.needs_confirmation:
            await _await_confirmation(order, result.reference)
        if next_at is not None or result.needs_confirmation:  # the customer's turn: no final action yet
            await _set_subscription_status(
                order,
                SubscriptionStatus.PAST_DUE,
                only_from={SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING},
            )
        else:
            await _end_dunning(order)


async def _end_dunning(order: Order) -> None:
    """The last retry failed: apply the merchant's final action (inside the recording transaction)."""
    org = await Organization.objects().where(Organization.id == order.org).first()
    final_action = load_portal_settings(org).features.dunning_final_action if org else "cancel"
    if order.subscription is not None:
        sub = (
            await Subscription.select(Subscription.status)
            .where(Subscription.id == order.subscription)
            .first()
        )
        if sub and sub["status"] in {
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.PAST_DUE,
        }:
            status = SubscriptionStatus.CANCELED if final_action == "cancel" else SubscriptionStatus.UNPAID
            await lifecycle.end_subscription(order.org, order.subscription, status=status)
    if final_action == "cancel" or order.subscription is None:
        await Order.update({Order.status: OrderStatus.VOID, Order.next_payment_attempt_at: None}).where(
            Order.id == order.id
        )


def _error_text(message: str) -> str:
    return (message or "The payment failed.")[:300]


async def _record_unscheduled_failure(order: Order, result: ChargeResult) -> None:
    """An attempt outside the schedule failed: keep why (and the provider's payment, which the customer may
    still confirm), and put the dunning date back as it was."""
    async with write_transaction():
        rows = await Order.raw(
            "UPDATE ss_order SET next_payment_attempt_at = {}, last_payment_error = {}, payment_ref = {}, "
            "awaits_confirmation = (awaits_confirmation AND payment_ref = {} AND {}) "
            "WHERE id = {} AND status = 'pending' RETURNING id",
            order.next_payment_attempt_at,
            _error_text(result.message),
            result.reference,
            result.reference,
            result.needs_confirmation,
            order.id,
        )
        if rows and result.needs_confirmation:
            await _await_confirmation(order, result.reference)


async def _await_confirmation(order: Order, payment_ref: str) -> None:
    """Within the transaction that records it: the order's payment ``payment_ref`` waits for the customer to
    authenticate it. The first to record it (the charge's answer or Stripe's event) emails them."""
    started = (
        await Order.update({Order.awaits_confirmation: True})
        .where(
            Order.id == order.id,
            Order.status == OrderStatus.PENDING,
            Order.payment_ref == payment_ref,
            Order.awaits_confirmation.eq(False),
        )
        .returning(Order.id)
    )
    if started:
        await _ask_for_confirmation(order)


async def _ask_for_confirmation(order: Order) -> None:
    """Email the customer (in their language) a link to the portal's orders, where they confirm the payment
    their bank asks them to authenticate."""
    keyring, public_url = payment_providers.mail_context()
    customer = await Customer.objects().where(Customer.id == order.customer).first()
    org = await Organization.objects().where(Organization.id == order.org).first()
    if customer is None or org is None:
        return
    with i18n.use_locale(i18n.negotiate(customer.locale)):
        await queue_email(
            keyring,
            order.org,
            to=customer.billing_email or customer.email,
            subject=gettext(
                "Please confirm your payment of %(amount)s",
                amount=i18n.format_amount(int(order.total), order.currency),
            ),
            template="payment_confirmation",
            context={"order": order, "url": f"{public_url}/portal/{org.slug}?view=orders"},
        )


async def awaiting_confirmation(org_id: UUID, customer_id: UUID) -> list[Order]:
    """The customer's orders whose payment waits for them to authenticate it, newest first."""
    return [
        order
        for order in await unpaid_orders(org_id, customer_id, failed_only=True)
        if awaits_confirmation(order)
    ]


async def attempt_payment(org_id: UUID, order_id: UUID) -> bool:
    """Charge a pending order if an attempt is due (its first, or a dunning retry); True when it is paid.

    Runs outside any transaction. Not due, or being charged by someone else: False, and nothing charged."""
    order = await get_order(org_id, order_id)
    if order.status != OrderStatus.PENDING:
        return order.status in PAID_STATUSES
    if awaits_confirmation(order):
        return False
    scheduled_for = order.next_payment_attempt_at
    if not await _claim(order, scheduled=True):
        return False
    method = await _default_method(order)
    key = f"{order.id}:scheduled:{int(order.payment_attempts) + 1}"
    result = await _charge(order, method, key)
    if result.succeeded and method is not None:
        return await _record_success(order, method, result.reference, scheduled=True)
    await _record_scheduled_failure(order, method, scheduled_for, result)
    return False


async def _attempt_now(order: Order, method: PaymentMethod, *, manual: bool) -> tuple[bool, str, str]:
    """A charge outside the dunning schedule: (succeeded, decline code, message); the code is
    ``in_progress`` when another attempt holds the order."""
    if not await _claim(order, scheduled=False, manual=manual):
        return False, "in_progress", ""
    result = await _charge(order, method, f"{order.id}:now:{uuid.uuid4()}")
    if result.succeeded and await _record_success(order, method, result.reference, scheduled=False):
        return True, "", ""
    await _record_unscheduled_failure(order, result)
    return False, result.decline_code, result.message


async def pay_order(
    org_id: UUID, order_id: UUID, *, customer_id: UUID, payment_method_id: UUID | None = None
) -> Order:
    """The customer pays a pending order now with a saved card (the default one when none is given).

    At most ``MAX_MANUAL_ATTEMPTS`` per order, then RateLimited; a decline raises PaymentFailed."""
    order = await get_order(org_id, order_id, customer_id=customer_id)
    if order.status != OrderStatus.PENDING:
        raise Conflict(f"this order is {order.status}: there is nothing to pay")
    if payment_method_id is None:
        method = await cards.get_default_payment_method(org_id, customer_id)
        if method is None:
            raise NotFound("there is no payment method: add a card first")
    else:
        method = await cards.get_payment_method(org_id, customer_id, payment_method_id)
    if order.manual_payment_attempts >= MAX_MANUAL_ATTEMPTS:
        raise _too_many_attempts(order)
    succeeded, code, message = await _attempt_now(order, method, manual=True)
    fresh = await get_order(org_id, order_id)
    if succeeded or fresh.status in PAID_STATUSES:
        return fresh
    if code == "in_progress":
        if fresh.manual_payment_attempts >= MAX_MANUAL_ATTEMPTS:
            raise _too_many_attempts(fresh)
        raise Conflict("a payment for this order is in progress: try again in a few minutes")
    raise PaymentFailed(message or "the payment failed", decline_code=code)


def _too_many_attempts(order: Order) -> RateLimited:
    wait = order.next_payment_attempt_at - clock.now() if order.next_payment_attempt_at else timedelta(days=1)
    return RateLimited(
        f"this order has been retried {MAX_MANUAL_ATTEMPTS} times; we will retry it automatically, "
        "or update your payment method",
        retry_after=max(int(wait.total_seconds()), 60),
    )


async def retry_failed_orders(org_id: UUID, customer_id: UUID, method_id: UUID) -> int:
    """Charge the customer's failed orders (pending, attempted before) with the card just added or chosen;
    return how many got paid. Called by the payment-method service (``payments``)."""
    method = await cards.get_payment_method(org_id, customer_id, method_id)
    paid = 0
    for order in reversed(await unpaid_orders(org_id, customer_id, failed_only=True)):
        succeeded, _, _ = await _attempt_now(order, method, manual=False)
        paid += succeeded
    return paid


async def settle_provider_payment(
    org_id: UUID,
    payment_ref: str,
    method: PaymentMethod | None,
    result: ChargeResult,
    *,
    order_id: UUID | None = None,
) -> bool:
    """What the provider says became of an order's payment ``payment_ref`` (a Stripe event), applied once:
    a success pays the pending order (``order.paid`` fires once, whoever saw it first), a failure keeps why,
    a payment to authenticate waits for the customer (emailed once). News about an order no longer pending
    (paid, void) or an older payment changes nothing. ``order_id`` is the order the payment names (its
    metadata at Stripe): a success or a confirmation to ask for reaches it even before the charge's own answer
    is recorded (or when it never is: a crash, a timeout). True when paid."""

    def pending(*where: Any) -> Any:
        return Order.objects().where(Order.org == org_id, Order.status == OrderStatus.PENDING, *where).first()

    order = await pending(Order.payment_ref == payment_ref)
    if order is None and order_id is not None and (result.succeeded or result.needs_confirmation):
        order = await pending(Order.id == order_id)
    if order is None:
        return False
    if result.succeeded:
        return method is not None and await _record_success(order, method, payment_ref, scheduled=False)
    async with write_transaction():
        rows = await Order.raw(
            "UPDATE ss_order SET last_payment_error = {}, payment_ref = {}, "
            "awaits_confirmation = (awaits_confirmation AND payment_ref = {} AND {}) "
            "WHERE id = {} AND status = 'pending' AND payment_ref = {} RETURNING id",
            _error_text(result.message),
            payment_ref,
            payment_ref,
            result.needs_confirmation,
            order.id,
            order.payment_ref,
        )
        if rows and result.needs_confirmation:
            await _await_confirmation(order, payment_ref)
    return False


async def due_payment_attempts(limit: int = 100) -> list[tuple[UUID, UUID]]:
    """(org id, order id) of pending orders whose dunning retry is due, oldest first (for the job); an order
    waiting for the customer to confirm its payment is left to them, and its schedule resumes if their
    confirmation fails."""
    rows = (
        await Order.select(Order.org, Order.id)
        .where(
            Order.status == OrderStatus.PENDING,
            Order.next_payment_attempt_at <= clock.now(),
            Order.payment_attempts > 0,
            Order.awaits_confirmation.eq(False),  # not off-session while it waits
        )
        .order_by(Order.next_payment_attempt_at)
        .limit(limit)
    )
    return [(UUID(str(r["org"])), UUID(str(r["id"]))) for r in rows]


# --- refunds -----------------------------------------------------------------------------------------------


async def refund_order(
    org_id: UUID, order_id: UUID, amount: int, destination: str, reason: str = ""
) -> Refund:
    """Give back ``amount`` of a paid order to the card it was paid with or to the customer's wallet.

    Card refunds never exceed what the card paid; all refunds together never exceed the order's value
    (card + wallet). Concurrent refunds are serialised by a conditional UPDATE."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Invalid("the refund amount must be a positive integer of minor units")
    if destination not in set(RefundDestination):
        raise Invalid("destination is payment_method or wallet")
    order = await get_order(org_id, order_id)
    if order.status not in {OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED}:
        raise Conflict(f"this order is {order.status}: only paid orders can be refunded")
    async with write_transaction():
        refund = await _record_refund(order, amount, destination, reason)
        if destination == RefundDestination.WALLET:
            await wallet.credit(
                org_id,
                order.customer,
                amount,
                order.currency,
                WalletTransactionKind.REFUND,
                f"Refund of {order.invoice_number}",
                order_id=order.id,
            )
        else:
            refund.provider_ref = await _refund_to_card(order, refund)
            await Refund.update({Refund.provider_ref: refund.provider_ref}).where(Refund.id == refund.id)
        refunded = await get_order(org_id, order_id)
        await record_event(org_id, "order.refunded", await order_event(refunded))
    return refund


async def record_provider_refund(org_id: UUID, payment_ref: str, refund_ref: str, amount: int) -> bool:
    """A refund of the paid order's payment ``payment_ref`` made at the processor (the merchant's Stripe
    dashboard), recorded as ours are (refund, credit note, status, ``order.refunded``) once per
    ``refund_ref``: a refund selfserve made itself already carries it. True when recorded.

    The order is locked first, so news of a refund of ours still being made waits for it to be recorded.
    More than is left to refund (the order was partly refunded to the wallet meanwhile) records what is
    left."""
    async with write_transaction():
        locked = await Order.raw(
            "UPDATE ss_order SET refunded_amount = refunded_amount WHERE org = {} AND payment_ref = {} "
            "RETURNING id",
            org_id,
            payment_ref,
        )
        known = await Refund.exists().where(Refund.org == org_id, Refund.provider_ref == refund_ref)
        if not locked or known:
            return False
        order = await get_order(org_id, locked[0]["id"])
        left = int(order.total) + int(order.wallet_applied) - int(order.refunded_amount)
        if order.status not in {OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED} or left <= 0:
            return False
        await _record_refund(
            order, min(amount, left), RefundDestination.PAYMENT_METHOD, "Refunded in Stripe", refund_ref
        )
        refunded = await get_order(org_id, order.id)
        await record_event(org_id, "order.refunded", await order_event(refunded))
    return True


async def _record_refund(
    order: Order, amount: int, destination: str, reason: str, provider_ref: str | None = None
) -> Refund:
    """Within the refund's transaction: the order's refunded amount and status, the refund and its credit
    note (Invalid when ``amount`` is more than is left to refund)."""
    value = int(order.total) + int(order.wallet_applied)
    rows = await Order.raw(
        "UPDATE ss_order SET refunded_amount = refunded_amount + {}, status = CASE "
        "WHEN refunded_amount + {} = {} THEN 'refunded' ELSE 'partially_refunded' END "
        "WHERE id = {} AND status IN ('paid', 'partially_refunded') AND refunded_amount + {} <= {} "
        "RETURNING refunded_amount",
        amount,
        amount,
        value,
        order.id,
        amount,
        value,
    )
    if not rows:
        raise Invalid(f"at most {value - int(order.refunded_amount)} can still be refunded on this order")
    refund = Refund(
        org=order.org,
        order=order.id,
        customer=order.customer,
        amount=amount,
        currency=order.currency,
        destination=destination,
        reason=reason[:200],
        provider_ref=provider_ref,
        created_at=clock.now(),
    )
    await refund.save()
    await _issue_credit_note(order, refund)
    return refund


async def _issue_credit_note(order: Order, refund: Refund) -> CreditNote:
    """Within the refund's transaction: the credit note that corrects the order's invoice, numbered in the
    merchant's own credit-note sequence (gapless, like invoices), the refund split net and tax per rate."""
    rows = await Organization.raw(
        "UPDATE ss_organization SET last_credit_note_number = last_credit_note_number + 1 "
        "WHERE id = {} RETURNING last_credit_note_number, invoice_prefix",
        order.org,
    )
    shares = tax.split_refund(
        int(refund.amount), int(order.subtotal) + int(order.tax_amount), _tax_lines(order)
    )
    tax_amount = sum(share.tax for share in shares)
    note = CreditNote(
        org=order.org,
        order=order.id,
        refund=refund.id,
        customer=order.customer,
        number=f"{rows[0]['invoice_prefix']}-CN-{int(rows[0]['last_credit_note_number']):06d}",
        currency=order.currency,
        net=int(refund.amount) - tax_amount,
        tax_amount=tax_amount,
        total=int(refund.amount),
        tax_lines=msgspec.json.encode(shares).decode(),
        issued_at=refund.created_at,
    )
    await note.save()
    return note


async def credit_note_pdf_by_id(
    org_id: UUID, credit_note_id: UUID, *, customer_id: UUID
) -> tuple[CreditNote, bytes]:
    """A credit note's PDF found by its own id (the portal's download links name only the note), for the
    customer whose order it corrects."""
    note = await CreditNote.objects().where(CreditNote.org == org_id, CreditNote.id == credit_note_id).first()
    if note is None:
        raise NotFound(f"no credit note {credit_note_id}")
    return await credit_note_pdf(org_id, note.order, note.id, customer_id=customer_id)


async def credit_notes_by_order(org_id: UUID, order_ids: list[Any]) -> dict[str, list[CreditNote]]:
    """Credit notes of many (already scoped) orders in one query, keyed by order id, oldest first."""
    notes: dict[str, list[CreditNote]] = {str(order_id): [] for order_id in order_ids}
    if order_ids:
        for note in (
            await CreditNote.objects()
            .where(CreditNote.org == org_id, CreditNote.order.is_in(order_ids))
            .order_by(CreditNote.issued_at)
        ):
            notes[str(note.order)].append(note)
    return notes


def _tax_lines(order: Order) -> list[tax.TaxLine]:
    raw = order.tax_lines
    return msgspec.convert(
        msgspec.json.decode(raw or "[]") if isinstance(raw, str) else raw or [], list[tax.TaxLine]
    )


async def list_credit_notes(
    org_id: UUID, order_id: UUID, *, customer_id: UUID | None = None
) -> list[CreditNote]:
    order = await get_order(org_id, order_id, customer_id=customer_id)
    return list(await CreditNote.objects().where(CreditNote.order == order.id).order_by(CreditNote.issued_at))


async def credit_note_pdf(
    org_id: UUID, order_id: UUID, credit_note_id: UUID, *, customer_id: UUID | None = None
) -> tuple[CreditNote, bytes]:
    """A credit note's PDF, rendered from its stored figures (the same bytes every time)."""
    order = await get_order(org_id, order_id, customer_id=customer_id)
    note = (
        await CreditNote.objects()
        .where(CreditNote.order == order.id, CreditNote.id == credit_note_id)
        .first()
    )
    if note is None:
        raise NotFound(f"no credit note {credit_note_id} on this order")
    return note, await asyncio.to_thread(render_credit_note, await _document_context(order), note)


async def _refund_to_card(order: Order, refund: Refund) -> str:
    """Within the refund's transaction: a failure here rolls the whole refund back. The provider's refund."""
    to_card = sum(
        int(r["amount"])
        for r in await Refund.select(Refund.amount).where(
            Refund.order == order.id, Refund.destination == RefundDestination.PAYMENT_METHOD
        )
    )
    if to_card > order.total:
        raise Invalid(f"at most {int(order.total) - (to_card - int(refund.amount))} can go back to the card")
    method = await PaymentMethod.objects().where(PaymentMethod.id == order.payment_method).first()
    if method is None:
        raise Conflict("the card this order was paid with is gone: refund to the wallet instead")
    provider = await payment_providers.provider_for(order.org, method.provider)
    return await provider.refund(
        order.payment_ref, int(refund.amount), order.currency, idempotency_key=str(refund.id)
    )


# --- documents ---------------------------------------------------------------------------------------------


def _snapshot(customer: Customer) -> dict[str, Any]:
    address = customer.billing_address
    if isinstance(address, str):
        address = msgspec.json.decode(address or "{}")
    return {
        "name": customer.billing_name or customer.name,
        "company": customer.company_name,
        "email": customer.billing_email or customer.email,
        "tax_id": customer.tax_id,
        "address": dict(address or {}),
        "locale": customer.locale,
    }


async def invoice_pdf(org_id: UUID, order_id: UUID, *, customer_id: UUID | None = None) -> bytes:
    """The order's invoice, dated the day the order was issued (numbered). The first call renders it: the
    customer's billing details are frozen into the order, the PDF is stored and its SHA-256 kept; every
    later call returns exactly those bytes.

    The PDF is rendered outside the transaction (it takes a moment) and stored only if the order still has
    no document and is unchanged; when two first downloads race, one stores and both return its bytes."""
    order = await get_order(org_id, order_id, customer_id=customer_id)
    if order.status == OrderStatus.DRAFT:
        raise Conflict("a draft order has no invoice yet")
    for _ in range(ISSUE_ATTEMPTS):
        if order.invoice_checksum is not None:
            return await _stored_invoice(order)
        customer = await Customer.objects().where(Customer.id == order.customer).first()
        order.billing_snapshot = msgspec.json.encode(_snapshot(customer) if customer else {}).decode()
        order.invoice_issued_at = order.invoice_issued_at or order.created_at
        pdf = await asyncio.to_thread(render_invoice, await _document_context(order))
        async with write_transaction():
            issued = (
                await Order.update(
                    {
                        Order.invoice_issued_at: order.invoice_issued_at,
                        Order.billing_snapshot: order.billing_snapshot,
                        Order.invoice_checksum: hashlib.sha256(pdf).hexdigest(),
                    }
                )
                .where(
                    Order.id == order.id,
                    Order.invoice_checksum.is_null(),
                    Order.status == order.status,
                    Order.refunded_amount == order.refunded_amount,
                )
                .returning(Order.id)
            )
            if issued:
                await InvoiceDocument(org=org_id, order=order.id, pdf=pdf, created_at=clock.now()).save()
                return pdf
        order = await get_order(org_id, order_id)
    raise Conflict("the order changed while its invoice was being issued: try again")


async def _stored_invoice(order: Order) -> bytes:
    row = await InvoiceDocument.select(InvoiceDocument.pdf).where(InvoiceDocument.order == order.id).first()
    if row is None:
        raise NotFound("the invoice document is missing")
    pdf = bytes(row["pdf"])
    if hashlib.sha256(pdf).hexdigest() != order.invoice_checksum:
        raise RuntimeError(f"stored invoice of order {order.id} does not match its checksum")
    return pdf


async def receipt_pdf(org_id: UUID, order_id: UUID, *, customer_id: UUID | None = None) -> bytes:
    """A receipt for a paid order: what was paid, when, how, and what was refunded since. Rendered on
    demand (it follows refunds) and deterministic for a given state."""
    order = await get_order(org_id, order_id, customer_id=customer_id)
    if order.status not in PAID_STATUSES:
        raise Conflict(f"this order is {order.status}: receipts are for paid orders")
    return await asyncio.to_thread(render_receipt, await _document_context(order))


async def _document_context(order: Order) -> DocumentContext:
    org = await Organization.objects().where(Organization.id == order.org).first()
    assert org is not None
    raw = order.billing_snapshot
    snapshot: dict[str, Any] = msgspec.json.decode(raw or "{}") if isinstance(raw, str) else dict(raw or {})
    if not snapshot:
        customer = await Customer.objects().where(Customer.id == order.customer).first()
        snapshot = _snapshot(customer) if customer else {}
    method = (
        await PaymentMethod.objects().where(PaymentMethod.id == order.payment_method).first()
        if order.payment_method
        else None
    )
    settings = load_portal_settings(org)
    return DocumentContext(
        org=org,
        logo_url=settings.branding.logo_url,
        order=order,
        lines=list(await OrderLine.objects().where(OrderLine.order == order.id).order_by(OrderLine.position)),
        refunds=list(await Refund.objects().where(Refund.order == order.id).order_by(Refund.created_at)),
        billing=snapshot,
        payment_method=method,
        language=i18n.negotiate(snapshot.get("locale"), settings.default_locale),
    )


async def lines_and_refunds(
    org_id: UUID, order_ids: list[Any]
) -> tuple[dict[str, list[OrderLine]], dict[str, list[Refund]]]:
    """Lines and refunds of many orders in two queries, keyed by order id (for lists of already-scoped
    orders)."""
    lines: dict[str, list[OrderLine]] = {str(order_id): [] for order_id in order_ids}
    refunds: dict[str, list[Refund]] = {str(order_id): [] for order_id in order_ids}
    if not order_ids:
        return lines, refunds
    for line in (
        await OrderLine.objects()
        .where(OrderLine.org == org_id, OrderLine.order.is_in(order_ids))
        .order_by(OrderLine.position)
    ):
        lines[str(line.order)].append(line)
    for refund in (
        await Refund.objects()
        .where(Refund.org == org_id, Refund.order.is_in(order_ids))
        .order_by(Refund.created_at)
    ):
        refunds[str(refund.order)].append(refund)
    return lines, refunds
