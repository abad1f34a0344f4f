"""Usage reports, alerts and spend caps in and out of the merchant API; the usage services own the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from server.db.enums import UsageAlertKind
from server.db.tables import UsageAlert
from server.schemas.common import Currency
from server.services.usage import IngestResult
from server.services.usage_report import CustomerUsage, MeterUsage


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
        )


class CustomerUsageOut(msgspec.Struct, kw_only=True, frozen=True):
    customer_id: str
    meters: list[MeterUsageOut]

    @classmethod
    def of(cls, report: CustomerUsage) -> CustomerUsageOut:
        return cls(customer_id=str(report.customer_id), meters=[MeterUsageOut.of(m) for m in report.meters])


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


class EventsIngestedOut(msgspec.Struct, kw_only=True, frozen=True):
    inserted: int
    duplicates: int
    """Events whose ``event_id`` was already stored, skipped."""

    @classmethod
    def of(cls, result: IngestResult) -> EventsIngestedOut:
        return cls(inserted=result.inserted, duplicates=result.duplicates)
