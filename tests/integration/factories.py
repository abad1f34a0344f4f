"""The catalog and customers the subscription tests need, made through the same services the API and the
demo use, from the same request structs (so a row a test starts from is one a merchant could have made)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from server.catalog import service as catalog
from server.catalog.schemas import (
    BenefitCreate,
    MeterCreate,
    PriceCreate,
    PriceMeterIn,
    ProductCreate,
    ProductUpdate,
)
from server.customers import service as customers
from server.customers.schemas import CustomerCreate
from server.db.tables import Benefit, Customer, Meter, Price, Product


async def make_customer(org_id: Any, *, email: str | None = None, external_id: str | None = None) -> Customer:
    email = email or f"{uuid.uuid4().hex[:10]}@example.com"
    return await customers.create_customer(org_id, CustomerCreate(email=email, external_id=external_id))


async def make_product(org_id: Any, name: str = "Pro", *, visible: bool = True) -> Product:
    return await catalog.create_product(org_id, ProductCreate(name=name, visible_in_portal=visible))


async def make_price(
    org_id: Any,
    product: Product | None = None,
    *,
    amount: int = 1000,
    seat_amount: int = 0,
    currency: str = "USD",
    interval: str = "month",
    min_seats: int = 1,
    max_seats: int | None = None,
    trial_days: int = 0,
    meters: Sequence[PriceMeterIn] = (),
) -> Price:
    product = product or await make_product(org_id)
    terms = {
        "kind": "per_seat" if seat_amount else "fixed",
        "interval": interval,
        "currency": currency,
        "amount": amount,
        "seat_amount": seat_amount,
        "min_seats": min_seats,
        "max_seats": max_seats,
        "trial_days": trial_days,
        "meters": list(meters),
    }
    return await catalog.add_price(org_id, product.id, msgspec.convert(terms, PriceCreate))


def metering(
    meter: Meter, *, included: int, unit_amount: int, unit_batch: int = 1, limit: int | None = None
) -> PriceMeterIn:
    """``meter`` billed on a price: ``included`` units free, then ``unit_amount`` per ``unit_batch``."""
    terms = {
        "meter_id": meter.id,
        "included_units": included,
        "unit_amount": unit_amount,
        "unit_batch": unit_batch,
        "usage_limit": limit,
    }
    return msgspec.convert(terms, PriceMeterIn)


async def make_meter(org_id: Any, event_name: str, *, aggregation: str = "sum") -> Meter:
    terms = {"name": event_name.title(), "event_name": event_name, "aggregation": aggregation}
    return await catalog.create_meter(org_id, msgspec.convert(terms, MeterCreate))


async def make_benefit(org_id: Any, product: Product, type: str, **properties: Any) -> Benefit:
    """A benefit of ``type`` added to what ``product`` grants."""
    terms = {"type": type, "description": f"{type} benefit", "properties": properties}
    benefit = await catalog.create_benefit(org_id, msgspec.convert(terms, BenefitCreate))
    [view] = await catalog.product_views(org_id, [product])
    granted = [*map(uuid.UUID, view.benefit_ids), benefit.id]
    await catalog.update_product(org_id, product.id, ProductUpdate(benefit_ids=granted))
    return benefit
