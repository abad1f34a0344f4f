"""A customer's metered usage this billing period, per meter of every subscription that meters usage: the
figures (usage, included, limit, projection to the period's end), what the overage costs so far and at the
projected pace, by the rule invoices bill it (``usage.billed_batches``), and per subscription the overage
against its spend cap. The usage view, ``GET /v1/customers/{id}/usage``, the usage alerts and the spend caps
all read this one report."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from server.db.tables import Meter, PriceMeter, Product, SpendCap, SpendCapHit, Subscription
from server.enums import MeterAggregation
from server.enums import SubscriptionStatus as Status
from server.metering.service import (
    MeterPeriodUsage,
    billed_batches,
    cap_reached,
    capped_overage,
    meter_period_usage,
)
from server.subscriptions.service import BILLS_USAGE, list_subscriptions

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
    capped: bool = False
    """The subscription's spend cap is reached this period: usage beyond it is not billed."""


class CapSetting(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    amount: int
    """The most the overage may bill a period, in minor units of the subscription's currency."""
    set_by: str
    updated_at: datetime


class SubscriptionOverage(msgspec.Struct, frozen=True, kw_only=True):
    """One metered subscription's overage this period, all its meters together, against its spend cap."""

    subscription_id: UUID
    product_name: str
    currency: str
    period_start: datetime
    period_end: datetime
    overage_amount: int
    """What the usage beyond what is included costs so far, every meter (shown in the portal or not)."""
    cap: CapSetting | None
    """The spend cap; None when there is none."""
    billed_overage_amount: int
    """What the next invoice bills for it: ``overage_amount`` up to the cap."""
    capped: bool
    """The cap is reached (``usage.cap_reached``): further usage adds nothing to the invoice."""
    cap_reached_at: datetime | None
    """When the cap was first reached this period (it stays set if the cap is raised later)."""


class CustomerUsage(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: UUID
    meters: list[MeterUsage]
    subscriptions: list[SubscriptionOverage]
    """Every metered subscription (newest first), with or without a spend cap."""

    @property
    def capped(self) -> bool:
        return any(s.capped for s in self.subscriptions)


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
    meters the merchant shows in the portal (the subscriptions' overage still counts every meter)."""
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
    by_subscription: list[tuple[Subscription, list[MeterUsage]]] = []
    for subscription in subscriptions:
        usage = [
            await _meter_usage(org_id, subscription, component, meters[str(component.meter)])
            for component in components
            if str(component.price) == str(subscription.price)
        ]
        if usage:
            by_subscription.append((subscription, usage))
    overages = await _overages(org_id, by_subscription)
    report = [
        msgspec.structs.replace(meter, capped=overage.capped)
        for (_, usage), overage in zip(by_subscription, overages, strict=True)
        for meter in usage
        if meter.visible_in_portal or not portal
    ]
    return CustomerUsage(customer_id=customer_id, meters=report, subscriptions=overages)


async def _overages(
    org_id: UUID, by_subscription: list[tuple[Subscription, list[MeterUsage]]]
) -> list[SubscriptionOverage]:
    """Each subscription's overage against its spend cap (three reads whatever the count)."""
    if not by_subscription:
        return []
    ids = [s.id for s, _ in by_subscription]
    caps = {
        str(c.subscription): c
        for c in await SpendCap.objects().where(SpendCap.org == org_id, SpendCap.subscription.is_in(ids))
    }
    hits = {
        (str(h["subscription"]), h["period_start"]): h["created_at"]
        for h in await SpendCapHit.select(
            SpendCapHit.subscription, SpendCapHit.period_start, SpendCapHit.created_at
        ).where(SpendCapHit.org == org_id, SpendCapHit.subscription.is_in(ids))
    }
    names = {
        str(p["id"]): p["name"]
        for p in await Product.select(Product.id, Product.name).where(
            Product.id.is_in([s.product for s, _ in by_subscription])
        )
    }
    overages = []
    for subscription, usage in by_subscription:
        row = caps.get(str(subscription.id))
        cap = (
            None
            if row is None
            else CapSetting(id=row.id, amount=int(row.amount), set_by=row.set_by, updated_at=row.updated_at)
        )
        amount = None if cap is None else cap.amount
        overage = sum(m.overage_amount for m in usage)
        overages.append(
            SubscriptionOverage(
                subscription_id=subscription.id,
                product_name=names.get(str(subscription.product), ""),
                currency=subscription.currency,
                period_start=subscription.current_period_start,
                period_end=subscription.current_period_end,
                overage_amount=overage,
                cap=cap,
                billed_overage_amount=capped_overage(overage, amount),
                capped=cap_reached(overage, amount),
                cap_reached_at=hits.get((str(subscription.id), subscription.current_period_start)),
            )
        )
    return overages


class Reports:
    """Each customer's report made once, for the several checks that follow an ingestion batch."""

    def __init__(self, org_id: UUID) -> None:
        self._org_id = org_id
        self._made: dict[UUID, CustomerUsage] = {}

    async def of(self, customer_id: UUID) -> CustomerUsage:
        if customer_id not in self._made:
            self._made[customer_id] = await customer_usage(self._org_id, customer_id)
        return self._made[customer_id]
