"""Seats of a subscription given to people by email: pending → claimed through a one-day claim link, or
revoked. Only the SHA-256 of a claim token is stored. Assignments never exceed the seat count: each one takes
the subscription's row lock (PostgreSQL) inside a write transaction (SQLite serializes writers) before it
counts the seats in use, and ``change_seats`` takes the same lock."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.engine import write_transaction
from server.db.tables import Customer, Seat, Subscription
from server.enums import LIVE, SeatStatus
from server.errors import Conflict, Invalid, NotFound
from server.schemas.common import Email
from server.security.secrets import sha256_hex
from server.subscriptions.schemas import SeatOut
from server.subscriptions.service import assigned_seat_count, get_subscription, lock_subscription
from server.webhooks.outbox import record_event

CLAIM_LINK_TTL = timedelta(days=1)
LIVE_SEATS = (SeatStatus.PENDING, SeatStatus.CLAIMED)


def _event(seat: Seat) -> SeatOut:
    """The data of a seat event: the seat as the API returns it (with the invitee's email, which merchants
    who send their own invitations need)."""
    return SeatOut.of(seat)


def _normalize_email(email: str) -> str:
    email = email.strip().lower()
    try:
        return msgspec.convert(email, Email)
    except msgspec.ValidationError:
        raise Invalid(f"{email!r} is not an email address") from None


async def _lock_subscription(org_id: UUID, subscription_id: UUID, customer_id: UUID | None) -> int:
    """Take the subscription's row lock until the transaction ends; its seat count, NotFound, or Conflict."""
    seats, status = await lock_subscription(org_id, subscription_id, customer_id=customer_id)
    if status not in LIVE:
        raise Conflict(f"the subscription is {status}: its seats can no longer change")
    return seats


def _new_claim_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, sha256_hex(token)


async def assign_seat(
    org_id: UUID, subscription_id: UUID, email: str, *, customer_id: UUID | None = None
) -> tuple[Seat, str]:
    """Give a seat to ``email``: a pending seat and the claim token for its link (valid one day)."""
    email = _normalize_email(email)
    token, token_hash = _new_claim_token()
    now = clock.now()
    async with write_transaction():
        seats = await _lock_subscription(org_id, subscription_id, customer_id)
        if await Seat.exists().where(
            Seat.subscription == subscription_id, Seat.email == email, Seat.status.is_in(list(LIVE_SEATS))
        ):
            raise Conflict(f"{email} already has a seat on this subscription")
        if await assigned_seat_count(subscription_id) >= seats:
            raise Conflict(f"all {seats} seats are assigned: add seats or revoke one first")
        seat = Seat(
            id=uuid.uuid4(),
            org=org_id,
            subscription=subscription_id,
            email=email,
            status=SeatStatus.PENDING,
            invitation_hash=token_hash,
            invitation_expires_at=now + CLAIM_LINK_TTL,
            invited_at=now,
        )
        await seat.save()
        await record_event(org_id, "customer_seat.assigned", _event(seat))
    return seat, token


async def _seat(org_id: UUID, seat_id: UUID, customer_id: UUID | None) -> Seat:
    query = Seat.objects().where(Seat.org == org_id, Seat.id == seat_id)
    if customer_id is not None:
        query = query.where(Seat.subscription.customer == customer_id)
    seat = await query.first()
    if seat is None:
        raise NotFound(f"no seat {seat_id}")
    return seat


async def _reload(seat_id: Any) -> Seat:
    seat = await Seat.objects().where(Seat.id == seat_id).first()
    assert seat is not None
    return seat


async def revoke_seat(org_id: UUID, seat_id: UUID, *, customer_id: UUID | None = None) -> Seat:
    seat = await _seat(org_id, seat_id, customer_id)
    async with write_transaction():
        revoked = (
            await Seat.update(
                {Seat.status: SeatStatus.REVOKED, Seat.revoked_at: clock.now(), Seat.invitation_hash: None}
            )
            .where(Seat.id == seat.id, Seat.status.is_in(list(LIVE_SEATS)))
            .returning(Seat.id)
        )
        if not revoked:
            raise Conflict("this seat is already revoked")
        seat = await _reload(seat.id)
        await record_event(org_id, "customer_seat.revoked", _event(seat))
    return seat


async def resend_invitation(org_id: UUID, seat_id: UUID, *, customer_id: UUID | None = None) -> str:
    """A fresh claim token for a pending seat (the previous link stops working), valid one day."""
    seat = await _seat(org_id, seat_id, customer_id)
    token, token_hash = _new_claim_token()
    async with write_transaction():
        updated = (
            await Seat.update(
                {Seat.invitation_hash: token_hash, Seat.invitation_expires_at: clock.now() + CLAIM_LINK_TTL}
            )
            .where(Seat.id == seat.id, Seat.status == SeatStatus.PENDING)
            .returning(Seat.id)
        )
    if not updated:
        raise Conflict("only a pending seat has an invitation to resend")
    return token


async def claim_seat(org_id: UUID, claim_token: str) -> Seat:
    """Accept an invitation: the seat becomes claimed by the customer with its email (created if new)."""
    now = clock.now()
    token_hash = sha256_hex(claim_token)
    seat = await Seat.objects().where(Seat.org == org_id, Seat.invitation_hash == token_hash).first()
    if seat is None or seat.status != SeatStatus.PENDING or (seat.invitation_expires_at or now) <= now:
        raise NotFound("this invitation link is not valid any more: ask for a new one")
    member = (
        await Customer.objects()
        .where(Customer.org == org_id, Customer.email == seat.email, Customer.deleted_at.is_null())
        .first()
    )
    if member is None:
        member = await create_customer(org_id, CustomerCreate(email=seat.email))
    async with write_transaction():
        claimed = (
            await Seat.update(
                {
                    Seat.status: SeatStatus.CLAIMED,
                    Seat.claimed_at: now,
                    Seat.member: member.id,
                    Seat.invitation_hash: None,
                }
            )
            .where(Seat.id == seat.id, Seat.status == SeatStatus.PENDING, Seat.invitation_hash == token_hash)
            .returning(Seat.id)
        )
        if not claimed:
            raise NotFound("this invitation link is not valid any more: ask for a new one")
        seat = await _reload(seat.id)
        await record_event(org_id, "customer_seat.claimed", _event(seat))
    return seat


async def list_seats(
    org_id: UUID,
    subscription_id: UUID,
    *,
    customer_id: UUID | None = None,
    subscription: Subscription | None = None,
) -> list[Seat]:
    """The subscription's seats; a caller that already holds the (scoped) subscription row passes it."""
    if subscription is None or str(subscription.id) != str(subscription_id):
        subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    return list(await Seat.objects().where(Seat.subscription == subscription.id).order_by(Seat.invited_at))


async def expire_invitations(limit: int = 100) -> int:
    """Revoke pending seats whose claim link has expired, freeing them; the seat-invite expiry job."""
    due = (
        await Seat.select(Seat.id, Seat.org)
        .where(Seat.status == SeatStatus.PENDING, Seat.invitation_expires_at <= clock.now())
        .limit(limit)
    )
    for row in due:
        async with write_transaction():
            expired = (
                await Seat.update(
                    {
                        Seat.status: SeatStatus.REVOKED,
                        Seat.revoked_at: clock.now(),
                        Seat.invitation_hash: None,
                    }
                )
                .where(Seat.id == row["id"], Seat.status == SeatStatus.PENDING)
                .returning(Seat.id)
            )
            if expired:
                seat = await _reload(row["id"])
                await record_event(seat.org, "customer_seat.revoked", _event(seat))
    return len(due)
