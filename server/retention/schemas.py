"""Retention settings in and out of the merchant API, and the retention offer events (rules:
``server.retention.service``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from server.billing.schemas import SubscriptionOut
from server.db.tables import RetentionOffer
from server.enums import CancellationReason
from server.schemas.common import END

OfferKind = Literal["pause", "plan", "coupon"]
OFFER_KINDS: tuple[OfferKind, ...] = ("pause", "plan", "coupon")
MAX_WINDOW_MONTHS = 120


Message = Annotated[
    str, Meta(min_length=1, max_length=500, pattern=rf"^[^\x00-\x1f\x7f-\x9f]*\S[^\x00-\x1f\x7f-\x9f]*{END}")
]
"""One line with something to read."""


class OfferConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One answer to a cancellation reason: ``pause`` for ``pause_periods`` renewals, a switch to the cheaper
    ``price_id``, or the coupon ``coupon_id``; ``message`` is the merchant's wording above it (translated like
    every merchant text, through the portal settings' ``wordings``)."""

    kind: OfferKind
    message: Message
    pause_periods: Annotated[int, Meta(ge=1, le=12)] | None = None
    price_id: UUID | None = None
    coupon_id: UUID | None = None


class Offers(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """The offer answering each cancellation reason (``CancellationReason``); a reason left out gets none."""

    customer_service: OfferConfig | None = None
    low_quality: OfferConfig | None = None
    missing_features: OfferConfig | None = None
    switched_service: OfferConfig | None = None
    too_complex: OfferConfig | None = None
    too_expensive: OfferConfig | None = None
    unused: OfferConfig | None = None
    other: OfferConfig | None = None

    def by_reason(self) -> dict[str, OfferConfig]:
        return {
            reason: offer for reason in CancellationReason if (offer := getattr(self, reason)) is not None
        }


class RetentionSettingsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    window_months: Annotated[int, Meta(ge=1, le=MAX_WINDOW_MONTHS)] = 12
    """How often one customer may be offered anything: at most once in this many months."""
    offers: Offers = msgspec.field(default_factory=Offers)


class RetentionSettingsOut(msgspec.Struct, kw_only=True, frozen=True):
    window_months: int
    offers: Offers
    updated_at: datetime | None


RETENTION_EXAMPLE = {
    "window_months": 12,
    "offers": {
        "too_expensive": {
            "kind": "coupon",
            "coupon_id": "5d0c2b8e-4a64-4d1f-9a57-0a4b8f1c2d3e",
            "message": "Stay with us: 30% off your next three invoices.",
        },
        "unused": {"kind": "pause", "pause_periods": 2, "message": "Take a break instead of leaving."},
    },
}


class RetentionOfferOut(msgspec.Struct, kw_only=True, frozen=True):
    """An offer shown in the cancel flow and its outcome: the data of the ``retention_offer_*`` webhooks."""

    id: str
    subscription_id: str
    customer_id: str
    reason: str
    kind: str
    outcome: str
    currency: str
    monthly_revenue_kept: int
    """What the subscription keeps bringing per month after an accepted offer (minor units, before tax)."""
    shown_at: datetime
    decided_at: datetime | None
    subscription: SubscriptionOut

    @classmethod
    def of(cls, row: RetentionOffer, subscription: SubscriptionOut) -> RetentionOfferOut:
        return cls(
            id=str(row.id),
            subscription_id=str(row.subscription),
            customer_id=str(row.customer),
            reason=row.reason,
            kind=row.kind,
            outcome=row.outcome,
            currency=row.currency,
            monthly_revenue_kept=int(row.monthly_revenue_kept),
            shown_at=row.shown_at,
            decided_at=row.decided_at,
            subscription=subscription,
        )
