"""Rows the subscription tests need, written straight to the tables so these tests depend only on billing."""

from __future__ import annotations

import uuid
from typing import Any

from server import clock
from server.db.tables import Benefit, Customer, Meter, Price, PriceMeter, Product, ProductBenefit


async def make_customer(org_id: Any, *, email: str | None = None, external_id: str | None = None) -> Customer:
    now = clock.now()
    customer = Customer(
        org=org_id,
        email=email or f"{uuid.uuid4().hex[:10]}@example.com",
        external_id=external_id,
        created_at=now,
        updated_at=now,
    )
    await customer.save()
    return customer


async def make_product(org_id: Any, name: str = "Pro", *, visible: bool = True) -> Product:
    product = Product(org=org_id, name=name, visible_in_portal=visible, created_at=clock.now())
    await product.save()
    return product


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
) -> Price:
    product = product or await make_product(org_id)
    price = Price(
        org=org_id,
        product=product.id,
        kind="per_seat" if seat_amount else "fixed",
        interval=interval,
        currency=currency,
        amount=amount,
        seat_amount=seat_amount,
        min_seats=min_seats,
        max_seats=max_seats,
        trial_days=trial_days,
        created_at=clock.now(),
    )
    await price.save()
    return price


async def make_meter(org_id: Any, event_name: str, *, aggregation: str = "sum") -> Meter:
    meter = Meter(
        org=org_id,
        name=event_name.title(),
        event_name=event_name,
        aggregation=aggregation,
        created_at=clock.now(),
    )
    await meter.save()
    return meter


async def attach_meter(
    org_id: Any, price: Price, meter: Meter, *, included: int, unit_amount: int, unit_batch: int = 1
) -> PriceMeter:
    link = PriceMeter(
        org=org_id,
        price=price.id,
        meter=meter.id,
        included_units=included,
        unit_amount=unit_amount,
        unit_batch=unit_batch,
    )
    await link.save()
    return link


async def make_benefit(org_id: Any, product: Product, type: str, **properties: Any) -> Benefit:
    benefit = Benefit(
        org=org_id, type=type, description=f"{type} benefit", properties=properties, created_at=clock.now()
    )
    await benefit.save()
    await ProductBenefit(org=org_id, product=product.id, benefit=benefit.id).save()
    return benefit
