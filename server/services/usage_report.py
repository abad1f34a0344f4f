"""A customer's metered usage this billing period, per meter of every subscription that meters usage: the
figures (usage, included, limit, projection to the period's end), what the overage costs so far and at the
projected pace, by the rule invoices bill it (``usage.billed_batches``). The usage view,
``GET /v1/customers/{id}/usage`` and the usage alerts all read this one report."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from server.db.enums import MeterAggregation
from server.db.enums import SubscriptionStatus as Status
from server.db.tables import Meter, PriceMeter, Subscription
from server.services.subscriptions import BILLS_USAGE, list_subscriptions
from server.services.usage import MeterPeriodUsage, billed_batches, meter_period_usage

METERED_STATUSES = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)
"""Subscriptions whose usage counts this period (a trial's usage is shown, though not billed)."""


class MeterUsage(msgspec.Struct, frozen=True, kw_only=True):
    """One meter of one subscription this period."""

    subscription_id: UUID
    meter_id: UUID
    name: str
    event_name: str
    unit_name: str
    visible_in_portal: bool
    currency: str
    period_start: datetime
    period_end: datetime
    figures: MeterPeriodUsage
    unit_amount: int
    """The price of each ``unit_batch`` units beyond what is included."""
    unit_batch: int
    overage_amount: int
    """What the usage so far adds to the next invoice (0 while the subscription does not bill usage)."""
    projected_overage_amount: int | None
    """What the projected usage would add; None while there is no projection."""


class CustomerUsage(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: UUID
    meters: list[MeterUsage]


def overage_amount(used: int, component: PriceMeter, *, billed: bool) -> int:
    """What ``used`` units cost beyond what ``component`` includes, as the renewal invoice bills them."""
    if not billed:
        return 0
    return billed_batches(used, int(component.included_units), int(component.unit_batch)) * int(
        component.unit_amount
    )


async def _meter_usage(
    org_id: UUID, subscription: Subscription, component: PriceMeter, meter: Meter
) -> MeterUsage:
    figures = await meter_period_usage(
        org_id,
        subscription.customer,
        event_name=meter.event_name,
        count_events=meter.aggregation == MeterAggregation.COUNT,
        included=int(component.included_units),
        limit=None if component.usage_limit is None else int(component.usage_limit),
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
    )
    billed = subscription.status in BILLS_USAGE
    return MeterUsage(
        subscription_id=subscription.id,
        meter_id=meter.id,
        name=meter.name,
        event_name=meter.event_name,
        unit_name=meter.unit_name,
        visible_in_portal=meter.visible_in_portal,
        currency=subscription.currency,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        figures=figures,
        unit_amount=int(component.unit_amount),
        unit_batch=int(component.unit_batch),
        overage_amount=overage_amount(figures.used, component, billed=billed),
        projected_overage_amount=(
            None
            if figures.projection is None
            else overage_amount(figures.projection, component, billed=billed)
        ),
    )


async def customer_usage(org_id: UUID, customer_id: UUID, *, portal: bool = False) -> CustomerUsage:
    """Every meter of the customer's metered subscriptions, newest subscription first. ``portal``: only the
    meters the merchant shows in the portal."""
    subscriptions = [
        s for s in await list_subscriptions(org_id, customer_id=customer_id) if s.status in METERED_STATUSES
    ]
    components: list[PriceMeter] = (
        await PriceMeter.objects().where(
            PriceMeter.org == org_id, PriceMeter.price.is_in([s.price for s in subscriptions])
        )
        if subscriptions
        else []
    )
    meters = {
        str(m.id): m
        for m in (
            await Meter.objects().where(Meter.org == org_id, Meter.id.is_in([c.meter for c in components]))
            if components
            else []
        )
    }
    components.sort(key=lambda c: meters[str(c.meter)].name)
    report = []
    for subscription in subscriptions:
        for component in components:
            meter = meters[str(component.meter)]
            if str(component.price) != str(subscription.price) or (portal and not meter.visible_in_portal):
                continue
            report.append(await _meter_usage(org_id, subscription, component, meter))
    return CustomerUsage(customer_id=customer_id, meters=report)
