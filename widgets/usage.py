"""Usage: per meter this cycle's usage against what is included and the limit (figures from the usage
service), the overage so far and what it costs (the next-invoice preview), a daily trend chart with a table
beside it, and the credit that pays for it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from babel.dates import format_date
from babel.numbers import format_decimal

from server import i18n
from server.auth.sessions import PortalContext
from server.db.enums import MeterAggregation
from server.db.enums import SubscriptionStatus as Status
from server.errors import DomainError
from server.services import catalog, subscriptions, usage, wallet
from server.services.usage import DayUsage, MeterPeriodUsage
from widgets import Params, View
from widgets.charts import Point, bar_chart

METERED_STATUSES = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE)


class MeterUsage(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    unit_name: str
    usage: MeterPeriodUsage
    overage_amount: int
    currency: str
    period_start: datetime
    period_end: datetime
    chart: str
    """The daily trend as inline SVG (``widgets.charts``); empty when the period has not started."""
    peak: DayUsage | None


class UsageModel(msgspec.Struct, frozen=True, kw_only=True):
    meters: list[MeterUsage]
    credit: dict[str, int]


def _chart(days: list[DayUsage], unit: str) -> str:
    if not days:
        return ""
    locale = i18n.current_locale()

    def number(value: float) -> str:
        return str(format_decimal(value, locale=locale))

    points = [
        Point(
            axis=str(format_date(day.day, "d MMM", locale=locale)),
            value=day.value,
            spoken=f"{i18n.format_day(day.day)}: {number(day.value)} {unit}",
        )
        for day in days
    ]
    return str(bar_chart(points, number=number))


async def load(ctx: PortalContext, params: Params) -> UsageModel:
    org_id, customer_id = ctx.org.id, ctx.customer.id
    meters = []
    for sub in await subscriptions.list_subscriptions(org_id, customer_id=customer_id):
        if sub.status not in METERED_STATUSES:
            continue
        [price] = await catalog.price_views(org_id, [await catalog.get_price(org_id, UUID(str(sub.price)))])
        if not price.meters:
            continue
        try:
            preview = await subscriptions.preview_next_invoice(
                org_id, sub.id, customer_id=customer_id, subscription=sub
            )
            costs = {str(line.meter_id): line.amount for line in preview.lines if line.meter_id is not None}
        except DomainError:
            costs = {}
        start, end = sub.current_period_start, sub.current_period_end
        for component in price.meters:
            meter = await catalog.get_meter(org_id, UUID(component.meter_id))
            if not meter.visible_in_portal:
                continue
            figures = await usage.meter_period_usage(
                org_id,
                customer_id,
                event_name=meter.event_name,
                count_events=meter.aggregation == MeterAggregation.COUNT,
                included=component.included_units,
                limit=component.usage_limit,
                period_start=start,
                period_end=end,
            )
            meters.append(
                MeterUsage(
                    name=meter.name,
                    unit_name=meter.unit_name,
                    usage=figures,
                    overage_amount=costs.get(component.meter_id, 0),
                    currency=sub.currency,
                    period_start=start,
                    period_end=end,
                    chart=_chart(figures.days, meter.unit_name),
                    peak=max(figures.days, key=lambda d: d.value, default=None),
                )
            )
    wallets = await wallet.list_wallets(org_id, customer_id)
    return UsageModel(meters=meters, credit={w.currency: int(w.balance) for w in wallets if w.balance})


VIEW = View(slug="usage", title="Usage", load=load)
