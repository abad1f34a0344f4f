"""Deleting a customer's account: the customer asks in the portal's settings (``customer.deletion_requested``
goes to the merchant), the merchant approves through the API, and ``erase_customer`` removes or anonymises
the personal data in one transaction (``customer.deleted``).

What stays, as bookkeeping law requires: orders and their lines, refunds, the issued invoice PDFs and the
billing details frozen on each order (``billing_snapshot``), and the wallet's ledger. What goes: the
customer's name, email, external id, billing name, email, company, tax id, address and metadata; payment
methods; portal sessions, sign-in and email-change links, connected sign-in accounts; the emails queued or
sent to them; the emails of the seats on their subscriptions and of seats they hold; cancellation comments;
usage events' metadata; data exports; and their personal data in stored webhook events. Live subscriptions
end at once.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from uuid import UUID

import msgspec
from piccolo.query import WhereRaw

from server import clock
from server.billing import payment_providers
from server.billing.lifecycle import end_subscription
from server.billing.orders import invoice_pdf
from server.customers.schemas import CustomerOut
from server.customers.service import get_customer
from server.db.engine import write_transaction
from server.db.tables import (
    ConnectedAccount,
    Customer,
    DataExport,
    EmailMessage,
    MagicLink,
    Order,
    PaymentMethod,
    PortalEvent,
    PortalSession,
    Seat,
    Subscription,
    UsageEvent,
    WebhookEvent,
)
from server.enums import LIVE
from server.errors import Conflict
from server.privacy.data_exports import issued_orders
from server.webhooks.outbox import record_event

log = logging.getLogger("selfserve.erasure")


def erased_email(row_id: Any) -> str:
    """What replaces an erased address: unique per row and never deliverable (``.invalid``, RFC 2606)."""
    return f"erased-{row_id}@erased.invalid"


async def request_deletion(org_id: UUID, customer_id: UUID) -> Customer:
    """The customer asks for their account to be deleted; the merchant hears ``customer.deletion_requested``
    and approves with ``erase_customer`` (or declines with ``decline_deletion``). Asking again changes
    nothing."""
    async with write_transaction():
        customer = await get_customer(org_id, customer_id)
        if customer.erased_at is not None:
            raise Conflict("this account was already deleted")
        if customer.deletion_requested_at is None:
            customer.deletion_requested_at = customer.updated_at = clock.now()
            await customer.save([Customer.deletion_requested_at, Customer.updated_at])
            await record_event(org_id, "customer.deletion_requested", CustomerOut.of(customer))
    return customer


async def decline_deletion(org_id: UUID, customer_id: UUID) -> Customer:
    """The merchant keeps the account (a debt to settle first, say): the request is withdrawn."""
    async with write_transaction():
        customer = await get_customer(org_id, customer_id)
        if customer.deletion_requested_at is None or customer.erased_at is not None:
            raise Conflict("this customer has no pending deletion request")
        customer.deletion_requested_at = None
        customer.updated_at = clock.now()
        await customer.save([Customer.deletion_requested_at, Customer.updated_at])
        await record_event(org_id, "customer.updated", CustomerOut.of(customer))
    return customer


async def erase_customer(org_id: UUID, customer_id: UUID) -> Customer:
    """Erase the customer's personal data (see the module's docstring) and archive the account, all or
    nothing; erasing an erased customer returns it unchanged. Invoices never downloaded are issued first,
    so they carry the buyer's details as they were."""
    for order in await issued_orders(org_id, customer_id):
        await invoice_pdf(org_id, order.id)
    async with write_transaction():
        customer = await get_customer(org_id, customer_id)
        if customer.erased_at is not None:
            return customer
        addresses = {a.strip().lower() for a in (customer.email, customer.billing_email) if a.strip()}
        subscription_ids = await _end_subscriptions(org_id, customer.id)
        seats = await _erase_seats(org_id, customer.id, subscription_ids)
        await _forget_sign_in(org_id, customer.id, addresses)
        at_stripe = await _forget_payment_methods(org_id, customer.id)
        await UsageEvent.update({UsageEvent.metadata: {}}).where(
            UsageEvent.org == org_id, UsageEvent.customer == customer.id
        )
        await DataExport.delete().where(DataExport.org == org_id, DataExport.customer == customer.id)
        now = clock.now()
        customer.email = erased_email(customer.id)
        customer.name = customer.billing_name = customer.billing_email = ""
        customer.company_name = customer.tax_id = ""
        customer.external_id = None
        customer.billing_address = customer.metadata = {}
        customer.deleted_at = customer.deleted_at or now
        customer.erased_at = customer.updated_at = now
        await customer.save()
        erased = CustomerOut.of(customer)
        await _scrub_webhook_events(org_id, customer.id, addresses, erased)
        for seat_id, address in seats.items():
            await _replace_in_events(org_id, "customer_seat.%", str(seat_id), address, erased_email(seat_id))
        await record_event(org_id, "customer.deleted", erased)
    await _detach_at_stripe(org_id, at_stripe)
    return customer


async def _end_subscriptions(org_id: UUID, customer_id: UUID) -> list[Any]:
    """End the live subscriptions now (their events go out as usual) and forget cancellation comments, the
    customer's own words. The ids of all the customer's subscriptions."""
    rows = await Subscription.select(Subscription.id, Subscription.status).where(
        Subscription.org == org_id, Subscription.customer == customer_id
    )
    for row in rows:
        if row["status"] in LIVE:
            await end_subscription(org_id, row["id"], status="canceled")
    await Subscription.update(
        {Subscription.cancellation_comment: "", Subscription.default_payment_method: None}
    ).where(Subscription.org == org_id, Subscription.customer == customer_id)
    return [row["id"] for row in rows]


async def _erase_seats(org_id: UUID, customer_id: UUID, subscription_ids: list[Any]) -> dict[Any, str]:
    """The people invited to the customer's subscriptions, and the customer's own seats elsewhere. Their
    former addresses by seat id."""
    held = Seat.member == customer_id
    where = (Seat.subscription.is_in(subscription_ids) | held) if subscription_ids else held
    seats = {
        row["id"]: row["email"]
        for row in await Seat.select(Seat.id, Seat.email).where(Seat.org == org_id, where)
    }
    for seat_id in seats:
        await Seat.update({Seat.email: erased_email(seat_id), Seat.invitation_hash: None}).where(
            Seat.id == seat_id
        )
    return seats


async def _forget_sign_in(org_id: UUID, customer_id: UUID, addresses: set[str]) -> None:
    """Sessions, sign-in links, connected accounts and mail: nobody signs in as this customer again."""
    await PortalEvent.update({PortalEvent.session: None}).where(
        PortalEvent.org == org_id, PortalEvent.customer == customer_id
    )
    await PortalSession.delete().where(PortalSession.org == org_id, PortalSession.customer == customer_id)
    await ConnectedAccount.delete().where(
        ConnectedAccount.org == org_id, ConnectedAccount.customer == customer_id
    )
    await MagicLink.delete().where(MagicLink.org == org_id, MagicLink.customer == customer_id)
    for address in addresses:
        await MagicLink.delete().where(MagicLink.org == org_id, WhereRaw("lower(email) = {}", address))
        await EmailMessage.delete().where(
            EmailMessage.org == org_id, WhereRaw("lower(to_address) = {}", address)
        )


async def _forget_payment_methods(org_id: UUID, customer_id: UUID) -> list[str]:
    """Saved cards go; orders keep their amounts and invoices, not the link to the card. The Stripe
    references of the cards, to detach there once this commits."""
    cards = await PaymentMethod.select(PaymentMethod.provider, PaymentMethod.provider_ref).where(
        PaymentMethod.org == org_id, PaymentMethod.customer == customer_id
    )
    await Order.update({Order.payment_method: None}).where(Order.org == org_id, Order.customer == customer_id)
    await PaymentMethod.delete().where(PaymentMethod.org == org_id, PaymentMethod.customer == customer_id)
    return [
        c["provider_ref"] for c in cards if c["provider"] == payment_providers.STRIPE and c["provider_ref"]
    ]


async def _detach_at_stripe(org_id: UUID, refs: list[str]) -> None:
    """Like removing a card in the portal: Stripe forgets the card too. The erasure has committed, so a
    card Stripe cannot detach now is logged, not undone."""
    stripe = await payment_providers.stripe_for(org_id) if refs else None
    if stripe is None:
        return
    for ref in refs:
        try:
            await stripe.detach(ref)
        except Exception:
            log.exception("could not detach card %s at Stripe after erasing its customer", ref)


async def _scrub_webhook_events(
    org_id: UUID, customer_id: UUID, addresses: set[str], erased: CustomerOut
) -> None:
    """Stored ``customer.*`` events about the customer now carry the erased customer; any other stored event
    naming one of their addresses (a seat's invitation) has it replaced. Pending deliveries send that."""
    about = await WebhookEvent.select(WebhookEvent.id).where(
        WebhookEvent.org == org_id,
        WebhookEvent.type.like("customer.%"),
        WhereRaw("CAST(payload AS TEXT) LIKE {}", f'%"id":"{customer_id}"%'),
    )
    for row in about:
        await WebhookEvent.update({WebhookEvent.payload: msgspec.json.encode(erased).decode()}).where(
            WebhookEvent.id == row["id"]
        )
    for address in addresses:
        await _replace_in_events(org_id, "%", address, address, erased_email(customer_id))


async def _replace_in_events(
    org_id: UUID, types: str, mentioning: str, address: str, replacement: str
) -> None:
    """In the stored events of ``types`` (a LIKE pattern) that mention ``mentioning`` and ``address``,
    ``address`` (any letter case) becomes ``replacement``."""
    rows = await WebhookEvent.select(WebhookEvent.id, WebhookEvent.payload).where(
        WebhookEvent.org == org_id,
        WebhookEvent.type.like(types),
        WhereRaw("CAST(payload AS TEXT) LIKE {}", f"%{mentioning}%"),
        WhereRaw("lower(CAST(payload AS TEXT)) LIKE {}", f"%{address.lower()}%"),
    )
    for row in rows:
        payload = row["payload"]
        text = payload if isinstance(payload, str) else msgspec.json.encode(payload).decode()
        scrubbed = re.sub(re.escape(address), replacement, text, flags=re.IGNORECASE)
        await WebhookEvent.update({WebhookEvent.payload: scrubbed}).where(WebhookEvent.id == row["id"])
