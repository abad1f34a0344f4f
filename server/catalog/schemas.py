"""Catalog in and out of the merchant API: meters, products with prices (and their metered components),
benefits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import Meta

from server.db.tables import Benefit, Meter, Price, PriceMeter
from server.enums import BenefitType, Interval, MeterAggregation, PriceKind, TaxBehavior
from server.schemas.common import END, Currency, Metadata, MinorUnits, json_value

Title = Annotated[str, Meta(min_length=1, max_length=200)]
Description = Annotated[str, Meta(max_length=5000)]
EventName = Annotated[str, Meta(pattern=rf"^[A-Za-z0-9_.:-]{{1,100}}{END}", examples=["api_call"])]
UnitName = Annotated[str, Meta(min_length=1, max_length=50)]
Units = Annotated[int, Meta(ge=0, le=10**15)]
Seats = Annotated[int, Meta(ge=1, le=100_000)]


class MeterCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Title
    event_name: EventName
    """Usage events with this name feed the meter; unique among your live meters."""
    unit_name: UnitName = "units"
    aggregation: MeterAggregation = MeterAggregation.COUNT
    visible_in_portal: bool = True


class MeterUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Title | None = None
    unit_name: UnitName | None = None
    visible_in_portal: bool | None = None


class MeterOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    name: str
    event_name: str
    unit_name: str
    aggregation: MeterAggregation
    visible_in_portal: bool
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, row: Meter) -> MeterOut:
        return cls(
            id=str(row.id),
            name=row.name,
            event_name=row.event_name,
            unit_name=row.unit_name,
            aggregation=MeterAggregation(row.aggregation),
            visible_in_portal=row.visible_in_portal,
            created_at=row.created_at,
            archived_at=row.archived_at,
        )


class PriceMeterIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    meter_id: UUID
    included_units: Units = 0
    unit_amount: MinorUnits = 0
    """Price of each ``unit_batch`` units beyond ``included_units``."""
    unit_batch: Annotated[int, Meta(ge=1, le=10**9)] = 1
    usage_limit: Units | None = None


class PriceMeterOut(msgspec.Struct, kw_only=True, frozen=True):
    meter_id: str
    included_units: int
    unit_amount: int
    unit_batch: int
    usage_limit: int | None

    @classmethod
    def of(cls, row: PriceMeter) -> PriceMeterOut:
        return cls(
            meter_id=str(row.meter),
            included_units=row.included_units,
            unit_amount=row.unit_amount,
            unit_batch=row.unit_batch,
            usage_limit=row.usage_limit,
        )


class PriceCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: PriceKind
    interval: Interval
    currency: Currency
    amount: MinorUnits = 0
    """The base price per period."""
    seat_amount: MinorUnits = 0
    """Per seat and period (``per_seat`` prices only)."""
    min_seats: Seats = 1
    max_seats: Seats | None = None
    trial_days: Annotated[int, Meta(ge=0, le=365)] = 0
    meters: Annotated[list[PriceMeterIn], Meta(max_length=20)] = msgspec.field(default_factory=list)
    """Metered components; a ``metered`` price needs at least one."""


class PriceOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    product_id: str
    kind: PriceKind
    interval: Interval
    currency: str
    amount: int
    seat_amount: int
    min_seats: int
    max_seats: int | None
    trial_days: int
    meters: list[PriceMeterOut]
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, row: Price, meters: list[PriceMeter]) -> PriceOut:
        return cls(
            id=str(row.id),
            product_id=str(row.product),
            kind=PriceKind(row.kind),
            interval=Interval(row.interval),
            currency=row.currency,
            amount=row.amount,
            seat_amount=row.seat_amount,
            min_seats=row.min_seats,
            max_seats=row.max_seats,
            trial_days=row.trial_days,
            meters=[PriceMeterOut.of(m) for m in meters],
            created_at=row.created_at,
            archived_at=row.archived_at,
        )


class ProductCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Title
    description: Description = ""
    visible_in_portal: bool = True
    tax_behavior: TaxBehavior = TaxBehavior.TAXABLE
    """``taxable`` follows the matching tax rate (inclusive or exclusive as the rate says); ``inclusive`` or
    ``exclusive`` fix whether the prices contain the tax; ``exempt`` is never taxed."""
    metadata: Metadata = msgspec.field(default_factory=dict)
    prices: Annotated[list[PriceCreate], Meta(max_length=20)] = msgspec.field(default_factory=list)
    benefit_ids: Annotated[list[UUID], Meta(max_length=50)] = msgspec.field(default_factory=list)


class ProductUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Prices are immutable: add a new one and archive the old. ``benefit_ids`` replaces the whole set."""

    name: Title | None = None
    description: Description | None = None
    visible_in_portal: bool | None = None
    tax_behavior: TaxBehavior | None = None
    metadata: Metadata | None = None
    benefit_ids: Annotated[list[UUID], Meta(max_length=50)] | None = None


class ProductOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    name: str
    description: str
    visible_in_portal: bool
    tax_behavior: str
    metadata: dict[str, str]
    prices: list[PriceOut]
    """Live prices only."""
    benefit_ids: list[str]
    created_at: datetime
    archived_at: datetime | None


class BenefitProperties(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Per-type settings: ``discord`` needs ``invite_url``; ``downloadable`` needs ``file_ids``; ``custom``
    needs ``instructions`` or ``url``; ``license_key`` and ``api_key`` may set ``prefix`` (and license keys
    ``activation_limit``)."""

    invite_url: Annotated[str, Meta(max_length=2000)] | None = None
    file_ids: Annotated[list[UUID], Meta(max_length=50)] | None = None
    instructions: Annotated[str, Meta(max_length=5000)] | None = None
    url: Annotated[str, Meta(max_length=2000)] | None = None
    prefix: Annotated[str, Meta(pattern=rf"^[A-Za-z0-9_-]{{1,16}}{END}")] | None = None
    activation_limit: Annotated[int, Meta(ge=1, le=10_000)] | None = None


class BenefitCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: BenefitType
    description: Annotated[str, Meta(min_length=1, max_length=300)]
    properties: BenefitProperties = msgspec.field(default_factory=BenefitProperties)


class BenefitUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    description: Annotated[str, Meta(min_length=1, max_length=300)] | None = None
    properties: BenefitProperties | None = None


def stored_benefit_properties(value: object) -> BenefitProperties:
    """Stored properties, read leniently: a key the schema no longer knows, or a value that no longer fits
    it, is left out, so data written under other rules never turns a read into a server error."""
    raw = json_value(value)
    if not isinstance(raw, dict):
        return BenefitProperties()
    kept = {}
    for name in BenefitProperties.__struct_fields__:
        if name not in raw:
            continue
        try:
            msgspec.convert({name: raw[name]}, BenefitProperties)
        except msgspec.ValidationError:
            continue
        kept[name] = raw[name]
    return msgspec.convert(kept, BenefitProperties)


class BenefitOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    type: BenefitType
    description: str
    properties: BenefitProperties
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, row: Benefit) -> BenefitOut:
        return cls(
            id=str(row.id),
            type=BenefitType(row.type),
            description=row.description,
            properties=stored_benefit_properties(row.properties),
            created_at=row.created_at,
            archived_at=row.archived_at,
        )


class BenefitGrantOut(msgspec.Struct, kw_only=True, frozen=True):
    """A benefit given to a customer; the secrets it carries (license or API key) are never in it."""

    id: str
    customer_id: str
    benefit_id: str
    type: BenefitType
    subscription_id: str | None
    order_id: str | None
    granted_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> BenefitGrantOut:
        """From a grant's columns selected with ``BenefitGrant.benefit.type``."""
        return cls(
            id=str(row["id"]),
            customer_id=str(row["customer"]),
            benefit_id=str(row["benefit"]),
            type=BenefitType(row["benefit.type"]),
            subscription_id=str(row["subscription"]) if row["subscription"] else None,
            order_id=str(row["order"]) if row["order"] else None,
            granted_at=row["granted_at"],
            revoked_at=row["revoked_at"],
        )


class BenefitKeyCheck(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    key: Annotated[str, Meta(min_length=1, max_length=500)]
    """A license key or API key a customer presented to your app."""


METER_EXAMPLE = {"name": "API calls", "event_name": "api_call", "unit_name": "calls", "aggregation": "count"}
PRICE_EXAMPLE = {
    "kind": "per_seat",
    "interval": "month",
    "currency": "USD",
    "seat_amount": 1200,
    "min_seats": 1,
}
PRODUCT_EXAMPLE = {
    "name": "Team",
    "description": "For growing teams",
    "prices": [PRICE_EXAMPLE],
}
BENEFIT_EXAMPLE = {
    "type": "discord",
    "description": "Members-only Discord",
    "properties": {"invite_url": "https://discord.gg/example"},
}
