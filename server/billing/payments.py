"""A customer's saved cards. Only the provider's reference, brand, last four digits, expiry and a keyed
fingerprint are stored; the number and CVC never reach the database. At most one card per customer is the
default (a partial unique index guards it). A new default card, added or chosen, retries the customer's
failed orders at once.

On the sandbox, cards come as test numbers through our own form (``add_payment_method``). A merchant on
Stripe never receives a number: the browser confirms a SetupIntent in Stripe.js (``start_card_setup``) and
sends us only its id (``add_stripe_card``); making a card the default or removing it is mirrored on Stripe."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server import clock
from server.billing import cards, orders, payment_providers
from server.billing.providers import CardDetails, SavedCard
from server.billing.sandbox import SANDBOX, normalize_number
from server.billing.schemas import PaymentMethodOut
from server.billing.stripe_provider import StripeProvider
from server.db.engine import write_transaction
from server.db.tables import Customer, PaymentMethod, Subscription
from server.errors import Invalid, NotFound
from server.security.keyring import Keyring
from server.security.secrets import KeyedHasher
from server.webhooks.outbox import record_event


def card_fingerprint(keyring: Keyring, number: str) -> str:
    """Same card → same fingerprint under the newest key, so duplicates can be spotted without the number."""
    return KeyedHasher(keyring.secret_keys, "card-fingerprint").digest(normalize_number(number))


def _event(method: PaymentMethod) -> PaymentMethodOut:
    """The data of ``payment_method.updated`` (a card added, made the default or removed): the card as the
    API returns it (a removed card as it was)."""
    return PaymentMethodOut.of(method)


async def _lock_customer(org_id: UUID, customer_id: UUID) -> None:
    """Inside a transaction: check the customer and queue other card changes of theirs behind this one, so
    two concurrent "make default" never both pass the one-default index check."""
    rows = await Customer.raw(
        "UPDATE ss_customer SET updated_at = updated_at WHERE id = {} AND org = {} AND deleted_at IS NULL "
        "RETURNING id",
        customer_id,
        org_id,
    )
    if not rows:
        raise NotFound("no such customer")


def card_expired(method: PaymentMethod) -> bool:
    """A card can be charged through the last day of its expiry month."""
    today = clock.now()
    return (int(method.exp_year), int(method.exp_month)) < (today.year, today.month)


async def list_payment_methods(org_id: UUID, customer_id: UUID) -> list[PaymentMethod]:
    """The default first, then newest first."""
    methods = (
        await PaymentMethod.objects()
        .where(PaymentMethod.org == org_id, PaymentMethod.customer == customer_id)
        .order_by(PaymentMethod.created_at, ascending=False)
    )
    return sorted(methods, key=lambda m: not m.is_default)


async def _make_default(customer_id: UUID, pm_id: Any) -> None:
    await PaymentMethod.update({PaymentMethod.is_default: False}).where(
        PaymentMethod.customer == customer_id, PaymentMethod.is_default.eq(True), PaymentMethod.id != pm_id
    )
    await PaymentMethod.update({PaymentMethod.is_default: True}).where(PaymentMethod.id == pm_id)


async def add_payment_method(
    org_id: UUID,
    customer_id: UUID,
    *,
    keyring: Keyring,
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    make_default: bool = True,
) -> PaymentMethod:
    """Save a sandbox test card (Invalid if malformed, PaymentFailed if declined). When it becomes the
    default, the customer's failed orders are retried with it at once; a backup card is only charged when
    the customer picks it (``orders.pay_order``) or makes it the default."""
    if await payment_providers.get_config(org_id) is not None:
        raise Invalid("this merchant takes cards through Stripe: card numbers are never sent here")
    saved = SANDBOX.save_card(CardDetails(number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc))
    fingerprint = card_fingerprint(keyring, number)
    return await _store_card(org_id, customer_id, SANDBOX.name, saved, fingerprint, make_default=make_default)


async def _customer_stripe(org_id: UUID, customer_id: UUID) -> tuple[StripeProvider, str]:
    """The merchant's Stripe account and the customer's Stripe customer there (created on first need)."""
    stripe = await payment_providers.stripe_for(org_id)
    if stripe is None:
        raise Invalid("this merchant takes sandbox cards, not Stripe")
    customer = (
        await Customer.objects()
        .where(Customer.id == customer_id, Customer.org == org_id, Customer.deleted_at.is_null())
        .first()
    )
    if customer is None:
        raise NotFound("no such customer")
    if not customer.provider_customer_ref:
        ref = await stripe.create_customer(
            email=customer.email, name=customer.name, customer_id=str(customer.id)
        )
        await Customer.update({Customer.provider_customer_ref: ref}).where(
            Customer.id == customer.id, Customer.provider_customer_ref == ""
        )
        customer = await Customer.objects().where(Customer.id == customer.id).first()
        assert customer is not None
    return stripe, str(customer.provider_customer_ref)


async def start_card_setup(org_id: UUID, customer_id: UUID) -> str:
    """A Stripe SetupIntent for a new card of the customer; its client secret, for Stripe.js in the page."""
    stripe, customer_ref = await _customer_stripe(org_id, customer_id)
    return await stripe.start_card_setup(customer_ref)


async def add_stripe_card(
    org_id: UUID, customer_id: UUID, setup_intent_id: str, *, keyring: Keyring, make_default: bool = True
) -> PaymentMethod:
    """Save the card of a SetupIntent the customer confirmed in Stripe.js (saving the same one twice gives
    back the card saved the first time)."""
    stripe, customer_ref = await _customer_stripe(org_id, customer_id)
    saved = await stripe.finish_card_setup(customer_ref, setup_intent_id)
    existing = (
        await PaymentMethod.objects()
        .where(PaymentMethod.customer == customer_id, PaymentMethod.provider_ref == saved.provider_ref)
        .first()
    )
    if existing is not None:
        return existing
    fingerprint = KeyedHasher(keyring.secret_keys, "card-fingerprint").digest(saved.provider_ref)
    method = await _store_card(
        org_id, customer_id, stripe.name, saved, fingerprint, make_default=make_default
    )
    if method.is_default:
        await stripe.make_default(method.provider_ref)
    return method


async def _store_card(
    org_id: UUID, customer_id: UUID, provider: str, saved: SavedCard, fingerprint: str, *, make_default: bool
) -> PaymentMethod:
    async with write_transaction():
        await _lock_customer(org_id, customer_id)
        first = not await PaymentMethod.exists().where(
            PaymentMethod.customer == customer_id, PaymentMethod.is_default.eq(True)
        )
        method = PaymentMethod(
            org=org_id,
            customer=customer_id,
            provider=provider,
            provider_ref=saved.provider_ref,
            brand=saved.brand,
            last4=saved.last4,
            exp_month=saved.exp_month,
            exp_year=saved.exp_year,
            fingerprint=fingerprint,
            created_at=clock.now(),
        )
        await method.save()
        if make_default or first:
            await _make_default(customer_id, method.id)
            method.is_default = True
        await record_event(org_id, "payment_method.updated", _event(method))
    if method.is_default:
        await orders.retry_failed_orders(org_id, customer_id, method.id)
    return method


async def set_default_payment_method(org_id: UUID, customer_id: UUID, pm_id: UUID) -> PaymentMethod:
    async with write_transaction():
        await _lock_customer(org_id, customer_id)
        method = await cards.get_payment_method(org_id, customer_id, pm_id)
        await _make_default(customer_id, method.id)
        method.is_default = True
        await record_event(org_id, "payment_method.updated", _event(method))
    if method.provider == payment_providers.STRIPE:
        stripe = await payment_providers.stripe_for(org_id)
        if stripe is not None:
            await stripe.make_default(method.provider_ref)
    await orders.retry_failed_orders(org_id, customer_id, method.id)
    return method


async def remove_payment_method(org_id: UUID, customer_id: UUID, pm_id: UUID) -> None:
    """Delete a card. When it was the default, the newest remaining card becomes the default; subscriptions
    that named it fall back to the customer's default (the foreign key is set to null)."""
    async with write_transaction():
        await _lock_customer(org_id, customer_id)
        method = await cards.get_payment_method(org_id, customer_id, pm_id)
        await Subscription.update({Subscription.default_payment_method: None}).where(
            Subscription.default_payment_method == method.id
        )
        await PaymentMethod.delete().where(PaymentMethod.id == method.id)
        await record_event(org_id, "payment_method.updated", _event(method))
        if method.is_default:
            newest = (
                await PaymentMethod.select(PaymentMethod.id)
                .where(PaymentMethod.customer == customer_id)
                .order_by(PaymentMethod.created_at, ascending=False)
                .first()
            )
            if newest is not None:
                await _make_default(customer_id, newest["id"])
    if method.provider == payment_providers.STRIPE:
        stripe = await payment_providers.stripe_for(org_id)
        if stripe is not None:
            await stripe.detach(method.provider_ref)
