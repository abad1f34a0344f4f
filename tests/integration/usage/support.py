"""A customer on a metered plan whose billing period starts at a chosen moment, and usage days for it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from server.catalog.schemas import PriceMeterIn
from server.clock import FrozenClock, use_clock
from server.db.tables import Customer, Meter, PriceMeter, Subscription
from server.metering.service import UsageEventIn, ingest_events
from server.subscriptions.service import create_subscription
from tests.integration.factories import (
    make_customer,
    make_meter,
    make_price,
    metering,
)


class Metered(msgspec.Struct, kw_only=True):
    customer: Customer
    meter: Meter
    component: PriceMeter
    subscription: Subscription


async def metered_customer(
    org_id: Any,
    start: datetime,
    *,
    included: int = 1000,
    unit_amount: int = 200,
    unit_batch: int = 100,
    limit: int | None = None,
    event_name: str = "api.call",
    base_amount: int = 0,
    also: Sequence[PriceMeterIn] = (),
) -> Metered:
    """A customer subscribed at ``start`` (a month's period, nothing to pay up front) to a plan with one
    summing meter (``component``) and any meters ``also`` billed."""
    customer = await make_customer(org_id, external_id=f"ext-{event_name}-{start.timestamp():.0f}")
    meter = await make_meter(org_id, event_name)
    billed = metering(meter, included=included, unit_amount=unit_amount, unit_batch=unit_batch, limit=limit)
    price = await make_price(org_id, amount=base_amount, meters=[billed, *also])
    component = (
        await PriceMeter.objects().where(PriceMeter.price == price.id, PriceMeter.meter == meter.id).first()
    )
    with use_clock(FrozenClock(start)):
        subscription = await create_subscription(org_id, customer.id, price.id)
    return Metered(customer=customer, meter=meter, component=component, subscription=subscription)


async def use_daily(org_id: Any, metered: Metered, first_day: datetime, values: list[int]) -> None:
    """One event per day from ``first_day`` with these values (days of 0 send nothing)."""
    events = [
        UsageEventIn(
            name=metered.meter.event_name,
            customer_id=metered.customer.id,
            value=value,
            occurred_at=first_day + timedelta(days=index, hours=1),
        )
        for index, value in enumerate(values)
        if value
    ]
    await ingest_events(org_id, events)
