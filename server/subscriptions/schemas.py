"""What the API takes and returns for subscriptions' changes and their seats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from server.db.tables import (
    Seat,
)
from server.enums import CancellationReason
from server.schemas.common import Email, optional_id


class SubscriptionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    customer_id: UUID
    price_id: UUID
    seats: Annotated[int, Meta(ge=1, le=100_000)] = 1
    payment_method_id: UUID | None = None
    trial_days: Annotated[int, Meta(ge=0, le=730)] | None = None
    """Overrides the price's trial; 0 starts billing at once."""


class SubscriptionCancel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    at_period_end: bool = True
    reason: CancellationReason | None = None
    comment: Annotated[str, Meta(max_length=2000)] = ""
    refund: Literal["none", "payment_method", "wallet"] | None = None
    """For an immediate cancel: where the unused time goes (default: the portal settings' choice)."""


class PlanChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    price_id: UUID


class SeatChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    seats: Annotated[int, Meta(ge=1, le=100_000)]


class SeatCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    subscription_id: UUID
    email: Email
    send_invitation: bool = True
    """Email the claim link in your branding; false when you send your own (use ``claim_token``)."""


class SeatOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    subscription_id: str
    email: str
    status: str
    member_id: str | None
    invited_at: datetime
    invitation_expires_at: datetime | None
    claimed_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: Seat) -> SeatOut:
        return cls(
            id=str(row.id),
            subscription_id=str(row.subscription),
            email=row.email,
            status=row.status,
            member_id=optional_id(row.member),
            invited_at=row.invited_at,
            invitation_expires_at=row.invitation_expires_at,
            claimed_at=row.claimed_at,
            revoked_at=row.revoked_at,
        )


class AssignedSeatOut(SeatOut, frozen=True, kw_only=True):
    claim_token: str
    """For your own invitation email (the portal's claim link carries it); shown only in this response."""
