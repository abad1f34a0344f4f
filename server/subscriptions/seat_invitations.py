"""Seat invitations that reach people: assigning (or re-inviting) a seat and queueing its email commit
together, so a portal action and the merchant API send the same mail. The link carries the claim token in
its fragment, which never reaches a server log."""

from __future__ import annotations

from uuid import UUID

from server import i18n
from server.db.engine import write_transaction
from server.db.tables import Organization, Seat, Subscription
from server.mail import queue_email
from server.mail.render import recipient_locale
from server.security.keyring import Keyring
from server.subscriptions import seats


def claim_url(public_url: str, org_slug: str, token: str) -> str:
    return f"{public_url}/portal/{org_slug}/claim#token={token}"


async def _send(keyring: Keyring, public_url: str, org: Organization, seat: Seat, token: str) -> None:
    """The invitation speaks the subscriber's language (the invitee has none stored yet)."""
    row = (
        await Subscription.select(Subscription.product.name, Subscription.customer.locale)
        .where(Subscription.id == seat.subscription)
        .first()
    )
    with i18n.use_locale(recipient_locale(org, row["customer.locale"] if row else None)):
        await queue_email(
            keyring,
            org.id,
            to=seat.email,
            subject=i18n.gettext("You have been given a seat on %(merchant)s", merchant=org.name),
            template="seat_invitation",
            context={
                "url": claim_url(public_url, org.slug, token),
                "product_name": row["product.name"] if row else org.name,
            },
        )


async def invite(
    keyring: Keyring,
    public_url: str,
    org: Organization,
    subscription_id: UUID,
    email: str,
    *,
    customer_id: UUID | None = None,
) -> tuple[Seat, str]:
    """Assign a seat and queue its invitation; returns the seat and its claim token."""
    async with write_transaction():
        seat, token = await seats.assign_seat(org.id, subscription_id, email, customer_id=customer_id)
        await _send(keyring, public_url, org, seat, token)
    return seat, token


async def reinvite(
    keyring: Keyring, public_url: str, org: Organization, seat_id: UUID, *, customer_id: UUID | None = None
) -> Seat:
    async with write_transaction():
        token = await seats.resend_invitation(org.id, seat_id, customer_id=customer_id)
        seat = await Seat.objects().where(Seat.id == seat_id).first()
        assert seat is not None
        await _send(keyring, public_url, org, seat, token)
    return seat
