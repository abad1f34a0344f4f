"""Events a merchant's Stripe account sends to ``POST /webhooks/stripe/{org_slug}``, and the reconciliation
that recovers a lost one.

Each is verified with the merchant's webhook signing secret (the ``stripe`` package's verifier, which also
refuses a signature older than five minutes), applied once (its id is kept in ``ss_provider_event``; a
replay answers 200 and changes nothing) and safe in any order: a payment's news only ever moves a pending
order, so a late ``payment_intent.payment_failed`` cannot undo a payment already recorded.

Applied: ``payment_intent.succeeded`` / ``payment_failed`` / ``requires_action`` (the order is paid, or says
why not, or waits for the customer's confirmation and emails them once, also when the charge's own answer was
never recorded: the PaymentIntent names its order), ``charge.refunded`` (a refund made in Stripe's dashboard
is recorded as ours are; one selfserve made is known by its Stripe id and not counted again),
``setup_intent.succeeded`` (a confirmed card is saved even if its page closed first),
``payment_method.detached`` (removed here too) and ``customer.updated`` (a default card chosen at Stripe).
Other events are acknowledged only.

``confirm_payment`` records a payment the customer authenticated (3-D Secure) in the portal, from what
Stripe says of it. ``reconcile_payments`` (the ``billing.stripe_reconcile`` job) re-reads the PaymentIntents
of orders still pending on Stripe, so a payment whose event never arrived (the customer confirmed 3-D
Secure, Stripe's delivery failed) is recorded all the same, at most a few minutes late.
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.billing import orders, payment_providers, payments
from server.billing.providers import ChargeResult, decline_code, decline_message
from server.billing.stripe_provider import ORDER_METADATA
from server.db.constraints import is_unique_violation
from server.db.point_reads import read_one, read_row
from server.db.tables import Customer, Order, PaymentMethod, ProviderEvent
from server.enums import OrderStatus
from server.errors import Conflict, Invalid, NotFound, PaymentFailed, Unauthorized, Unavailable
from server.organizations.service import get_organization_by_slug
from server.security.keyring import Keyring

SIGNATURE_TOLERANCE_SECONDS = 300
_SEEN = "SELECT 1 AS seen FROM ss_provider_event WHERE org = {} AND event_id = {}"
"""An event applied before (Stripe delivers at least once); a point read, as every delivery asks."""


async def receive(org_slug: str, payload: bytes, signature: str, *, keyring: Keyring) -> str:
    """Verify and apply one event; what became of it (``applied``, ``replayed``, ``ignored``)."""
    from stripe import SignatureVerificationError, WebhookSignature

    org = await get_organization_by_slug(org_slug)
    config = await payment_providers.get_config(org.id)
    if config is None:
        raise NotFound(f"{org_slug} does not take payments through Stripe")
    try:
        WebhookSignature.verify_header(
            payload.decode(),
            signature,
            payment_providers.webhook_secret_of(config),
            SIGNATURE_TOLERANCE_SECONDS,
        )
    except (SignatureVerificationError, UnicodeDecodeError) as exc:
        raise Unauthorized(
            "the Stripe-Signature header does not match this merchant's webhook secret"
        ) from exc
    event: dict[str, Any] = msgspec.json.decode(payload)
    event_id, event_type = str(event["id"]), str(event["type"])
    if await read_one(_SEEN, org.id, event_id) is not None:
        return "replayed"
    handler = HANDLERS.get(event_type)
    if handler is not None:  # every handler is idempotent: two deliveries racing here apply it once
        await handler(org.id, event["data"]["object"], keyring)
    try:  # kept only once applied: an event that failed half-way is applied again when Stripe retries it
        await ProviderEvent(
            org=org.id, event_id=event_id, event_type=event_type, received_at=clock.now()
        ).save()
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
    return "applied" if handler is not None else "ignored"


async def _card(org_id: UUID, stripe_method: object) -> PaymentMethod | None:
    """Our saved card for a Stripe PaymentMethod id."""
    if not isinstance(stripe_method, str) or not stripe_method:
        return None
    return await read_row(PaymentMethod, "org = {} AND provider_ref LIKE {}", org_id, f"%:{stripe_method}")


def _order_named(intent: dict[str, Any]) -> UUID | None:
    """The order a PaymentIntent pays, from the metadata selfserve gave it."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        return UUID(str((intent.get("metadata") or {}).get(ORDER_METADATA)))
    return None


async def _payment_succeeded(org_id: UUID, intent: dict[str, Any], _keyring: Keyring) -> None:
    method = await _card(org_id, intent.get("payment_method"))
    if method is not None:
        await orders.settle_provider_payment(
            org_id, str(intent["id"]), method, ChargeResult(succeeded=True), order_id=_order_named(intent)
        )


async def _payment_failed(org_id: UUID, intent: dict[str, Any], _keyring: Keyring) -> None:
    method = await _card(org_id, intent.get("payment_method"))
    error = intent.get("last_payment_error") or {}
    code = decline_code(str(error.get("decline_code") or error.get("code") or "card_declined"))
    result = ChargeResult(succeeded=False, decline_code=code, message=decline_message(code))
    if method is not None:
        await orders.settle_provider_payment(org_id, str(intent["id"]), method, result)


async def _card_detached(org_id: UUID, stripe_method: dict[str, Any], _keyring: Keyring) -> None:
    """Removed at Stripe (the dashboard, another integration): removed here too."""
    method = await _card(org_id, stripe_method.get("id"))
    if method is not None:
        with contextlib.suppress(NotFound):  # removed here at the same moment
            await payments.remove_payment_method(org_id, method.customer, method.id)


async def _settle_as_stripe_says(org_id: UUID, payment_ref: str, order_id: UUID | None = None) -> None:
    """What Stripe says of a PaymentIntent now (an event may be older than the customer's confirmation):
    paid, or waiting for the customer to authenticate it."""
    stripe = await payment_providers.stripe_for(org_id)
    if stripe is None:
        return
    result, stripe_method = await stripe.payment_status(payment_ref)
    method = await _card(org_id, stripe_method)
    if method is not None and (result.needs_confirmation or result.succeeded):
        await orders.settle_provider_payment(org_id, payment_ref, method, result, order_id=order_id)


async def _needs_action(org_id: UUID, intent: dict[str, Any], _keyring: Keyring) -> None:
    """The bank asks the customer to authenticate: the order stays unpaid, says so and the customer is
    emailed once."""
    await _settle_as_stripe_says(org_id, str(intent["id"]), _order_named(intent))


async def _charge_refunded(org_id: UUID, charge: dict[str, Any], _keyring: Keyring) -> None:
    """A charge was refunded, in full or in part, by selfserve or in Stripe's dashboard: every refund Stripe
    lists for its PaymentIntent that is not recorded here yet is recorded (once, by its Stripe id), whatever
    order the events come in. A refund whose news came before the payment's records the payment first."""
    payment_ref = charge.get("payment_intent")
    stripe = await payment_providers.stripe_for(org_id)
    if not isinstance(payment_ref, str) or not payment_ref or stripe is None:
        return
    if await Order.exists().where(
        Order.org == org_id, Order.payment_ref == payment_ref, Order.status == OrderStatus.PENDING
    ):
        await _settle_as_stripe_says(org_id, payment_ref)
    for refund_ref, amount in await stripe.refunds_of(payment_ref):
        await orders.record_provider_refund(org_id, payment_ref, refund_ref, amount)


async def _customer_of(org_id: UUID, stripe_customer: object) -> Customer | None:
    if not isinstance(stripe_customer, str) or not stripe_customer:
        return None
    return (
        await Customer.objects()
        .where(
            Customer.org == org_id,
            Customer.provider_customer_ref == stripe_customer,
            Customer.deleted_at.is_null(),
        )
        .first()
    )


async def _setup_succeeded(org_id: UUID, intent: dict[str, Any], keyring: Keyring) -> None:
    """A card the customer confirmed in Stripe.js whose page closed before it told us: saved all the same
    (saving it twice gives back the first)."""
    customer = await _customer_of(org_id, intent.get("customer"))
    if customer is not None:
        with contextlib.suppress(Invalid, NotFound):  # not confirmed after all, or the customer is gone
            await payments.add_stripe_card(
                org_id, customer.id, str(intent["id"]), keyring=keyring, make_default=False
            )


async def _customer_updated(org_id: UUID, stripe_customer: dict[str, Any], _keyring: Keyring) -> None:
    """A default card chosen in Stripe (the dashboard, another integration) becomes the default here. The
    default Stripe has now counts, not the event's: an older event (the echo of a default chosen here
    before the latest) arriving late must not bring an old default back."""
    customer = await _customer_of(org_id, stripe_customer.get("id"))
    stripe = await payment_providers.stripe_for(org_id)
    if customer is None or stripe is None:
        return
    method = await _card(org_id, await stripe.default_payment_method(str(customer.provider_customer_ref)))
    if method is not None and method.customer == customer.id and not method.is_default:
        with contextlib.suppress(NotFound):  # removed here at the same moment
            await payments.set_default_payment_method(org_id, customer.id, method.id)


async def confirmation_secret(org_id: UUID, customer_id: UUID, order_id: UUID) -> str:
    """The client secret Stripe.js needs for the customer to authenticate their order's payment in the page
    (Conflict when the order does not wait for that)."""
    order = await orders.get_order(org_id, order_id, customer_id=customer_id)
    stripe = await payment_providers.stripe_for(org_id)
    secret = (
        await stripe.confirmation_secret(order.payment_ref)
        if stripe is not None and orders.awaits_confirmation(order)
        else ""
    )
    if not secret:
        raise Conflict("this order does not wait for a confirmation")
    return secret


async def confirm_payment(org_id: UUID, customer_id: UUID, order_id: UUID) -> Order:
    """After the customer's 3-D Secure challenge in the page: what Stripe says of the order's PaymentIntent
    (never what the browser says). Paid: the order is paid once, whoever saw it first (this, Stripe's event or
    the reconciliation). Not paid: PaymentFailed with the reason, kept on the order."""
    order = await orders.get_order(org_id, order_id, customer_id=customer_id)
    if order.status in orders.PAID_STATUSES:
        return order
    stripe = await payment_providers.stripe_for(org_id)
    if order.status != OrderStatus.PENDING or stripe is None or not order.payment_ref.startswith("pi_"):
        raise Conflict(f"this order is {order.status}: there is nothing to confirm")
    result, stripe_method = await stripe.payment_status(order.payment_ref)
    method = await _card(org_id, stripe_method)
    await orders.settle_provider_payment(org_id, order.payment_ref, method, result)
    fresh = await orders.get_order(org_id, order_id)
    if fresh.status in orders.PAID_STATUSES:
        return fresh
    raise PaymentFailed(result.message, decline_code=result.decline_code)


async def reconcile_payments(limit: int = 100) -> int:
    """Record what Stripe says of the pending orders' latest PaymentIntents; how many got paid."""
    rows = (
        await Order.select(Order.org, Order.payment_ref)
        .where(Order.status == OrderStatus.PENDING, Order.payment_ref.like("pi_%"))
        .order_by(Order.created_at)
        .limit(limit)
    )
    paid = 0
    for row in rows:
        org_id = UUID(str(row["org"]))
        stripe = await payment_providers.stripe_for(org_id)
        if stripe is None:
            continue
        try:
            result, stripe_method = await stripe.payment_status(str(row["payment_ref"]))
        except Unavailable:
            continue
        method = await _card(org_id, stripe_method)
        if result.succeeded and method is not None:
            paid += await orders.settle_provider_payment(org_id, str(row["payment_ref"]), method, result)
    return paid


HANDLERS = {
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "payment_intent.requires_action": _needs_action,
    "charge.refunded": _charge_refunded,
    "payment_method.detached": _card_detached,
    "setup_intent.succeeded": _setup_succeeded,
    "customer.updated": _customer_updated,
}
