"""Usage reports, alerts and spend caps in and out of the merchant API; the usage services own the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from server.db.tables import (
    SpendCap,
    Subscription,
    UsageAlert,
)
from server.enums import UsageAlertKind
from server.metering.service import UsageEventIn
from server.schemas.common import Currency
from server.usage.usage_report import CustomerUsage, MeterUsage, SubscriptionOverage


class MeterUsageOut(msgspec.Struct, kw_only=True, frozen=True):
    """One meter of one subscription in its current period. ``projection`` is the usage expected by
    ``period_end`` from the trend of the daily totals (null before the first whole day); amounts are integer
    minor units of ``currency``, as the renewal invoice will bill them."""

    subscription_id: str
    meter_id: str
    name: str
    event_name: str
    unit_name: str
    currency: str
    period_start: datetime
    period_end: datetime
    usage: int
    included: int
    limit: int | None
    percent_of_included: int | None
    percent_of_limit: int | None
    level: str
    """``ok``, ``warning``, ``over`` (beyond what is included) or ``capped`` (at the limit)."""
    overage_units: int
    overage_amount: int
    projection: int | None
    projected_overage_units: int | None
    projected_overage_amount: int | None
    capped: bool = False
    """The subscription's spend cap is reached this period: usage beyond it adds nothing to the invoice
    (``spend_caps`` of the report has the figures)."""

    @classmethod
    def of(cls, meter: MeterUsage) -> MeterUsageOut:
        figures = meter.figures
        return cls(
            subscription_id=str(meter.subscription_id),
            meter_id=str(meter.meter_id),
            name=meter.name,
            event_name=meter.event_name,
            unit_name=meter.unit_name,
            currency=meter.currency,
            period_start=meter.period_start,
            period_end=meter.period_end,
            usage=figures.used,
            included=figures.included,
            limit=figures.limit,
            percent_of_included=figures.percent_of_included,
            percent_of_limit=figures.percent_of_limit,
            level=figures.level,
            overage_units=figures.overage_units,
            overage_amount=meter.overage_amount,
            projection=figures.projection,
            projected_overage_units=figures.projected_overage_units,
            projected_overage_amount=meter.projected_overage_amount,
            capped=meter.capped,
        )


class SpendCapOut(msgspec.Struct, kw_only=True, frozen=True):
    """A subscription's spend cap and this period's overage against it, in minor units of ``currency``.
    ``overage_amount`` is what the usage beyond what is included costs so far (every meter);
    ``billed_overage_amount`` what the next invoice bills of it (never more than ``amount``). ``capped``:
    the cap is reached, so further usage is not billed this period; ``reached_at`` is when it was first
    reached this period (``usage.cap_reached``)."""

    id: str
    subscription_id: str
    customer_id: str
    amount: int
    currency: str
    set_by: str
    updated_at: datetime
    period_start: datetime
    period_end: datetime
    overage_amount: int
    billed_overage_amount: int
    capped: bool
    reached_at: datetime | None

    @classmethod
    def of(
        cls, customer_id: UUID, overage: SubscriptionOverage, *, reached_at: datetime | None = None
    ) -> SpendCapOut:
        cap = overage.cap
        assert cap is not None
        return cls(
            id=str(cap.id),
            subscription_id=str(overage.subscription_id),
            customer_id=str(customer_id),
            amount=cap.amount,
            currency=overage.currency,
            set_by=cap.set_by,
            updated_at=cap.updated_at,
            period_start=overage.period_start,
            period_end=overage.period_end,
            overage_amount=overage.overage_amount,
            billed_overage_amount=overage.billed_overage_amount,
            capped=overage.capped,
            reached_at=overage.cap_reached_at or reached_at,
        )

    @classmethod
    def idle(cls, cap: SpendCap, subscription: Subscription) -> SpendCapOut:
        """The cap of a subscription not metered this period (paused or ended): nothing counts against it."""
        return cls(
            id=str(cap.id),
            subscription_id=str(subscription.id),
            customer_id=str(subscription.customer),
            amount=int(cap.amount),
            currency=cap.currency,
            set_by=cap.set_by,
            updated_at=cap.updated_at,
            period_start=subscription.current_period_start,
            period_end=subscription.current_period_end,
            overage_amount=0,
            billed_overage_amount=0,
            capped=False,
            reached_at=None,
        )


class SpendCapSet(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The most the usage beyond what is included may add to one period's invoice, in minor units of the
    subscription's currency (0: bill no overage at all)."""

    amount: Annotated[int, Meta(ge=0, le=10**12)]


class CustomerUsageOut(msgspec.Struct, kw_only=True, frozen=True):
    customer_id: str
    capped: bool
    """A spend cap of the customer's is reached this period: your app decides what to block."""
    meters: list[MeterUsageOut]
    spend_caps: list[SpendCapOut]
    """The caps of the customer's metered subscriptions, with this period's overage against each."""

    @classmethod
    def of(cls, report: CustomerUsage) -> CustomerUsageOut:
        return cls(
            customer_id=str(report.customer_id),
            capped=report.capped,
            meters=[MeterUsageOut.of(m) for m in report.meters],
            spend_caps=[
                SpendCapOut.of(report.customer_id, s) for s in report.subscriptions if s.cap is not None
            ],
        )


class UsageAlertCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Without ``customer_id``: a default that watches every customer. Without ``meter_id``: every meter.
    ``threshold`` is a percentage (1 to 1,000) for ``included_percent`` and ``limit_percent``, and an amount
    in minor units of ``currency`` for ``projected_overage``."""

    customer_id: UUID | None = None
    meter_id: UUID | None = None
    kind: UsageAlertKind
    threshold: Annotated[int, Meta(ge=1, le=10**12)]
    currency: Currency | None = None


class UsageAlertOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    customer_id: str | None
    meter_id: str | None
    kind: str
    threshold: int
    currency: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: UsageAlert) -> UsageAlertOut:
        return cls(
            id=str(row.id),
            customer_id=None if row.customer is None else str(row.customer),
            meter_id=None if row.meter is None else str(row.meter),
            kind=row.kind,
            threshold=int(row.threshold),
            currency=row.currency,
            created_at=row.created_at,
        )


class UsageThresholdOut(msgspec.Struct, kw_only=True, frozen=True):
    """An alert reached by one meter of a subscription in the period starting ``period_start`` (once per
    alert, meter and period); ``usage`` is the meter as ``GET /v1/customers/{id}/usage`` showed it then."""

    id: str
    alert_id: str
    customer_id: str
    subscription_id: str
    meter_id: str
    kind: str
    threshold: int
    currency: str | None
    period_start: datetime
    reached_at: datetime
    usage: MeterUsageOut


class CappedCustomerOut(msgspec.Struct, kw_only=True, frozen=True):
    customer_id: str
    external_customer_id: str | None


class EventsIngestedOut(msgspec.Struct, kw_only=True, frozen=True):
    inserted: int
    duplicates: int
    """Events whose ``event_id`` was already stored, skipped."""
    capped_customers: list[CappedCustomerOut]
    """The batch's customers whose spend cap is reached this period: their further usage is not billed
    until the next period, so your app may block it."""


class EventBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    events: Annotated[list[UsageEventIn], Meta(min_length=1, max_length=1000)]


EVENTS_EXAMPLE = {
    "events": [
        {"name": "api_call", "external_customer_id": "user_42", "value": 1, "event_id": "evt_0001"},
        {"name": "api_call", "customer_id": "3f2c9a1e-8d4b-4c55-9a0e-2f6d7b8c1a2e", "value": 3},
    ]
}
