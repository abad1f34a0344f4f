"""Usage: per meter this cycle's usage against what is included and the limit, the overage so far and what
it costs, a daily trend drawn as inline SVG, and the credit that pays for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from server import clock
from server.auth.sessions import PortalContext
from server.db.enums import MeterAggregation
from server.db.enums import SubscriptionStatus as Status
from server.errors import DomainError
from server.services import catalog, subscriptions, usage, wallet
from widgets import Params, View

METERED_STATUSES = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE)
CHART_WIDTH, CHART_HEIGHT = 300, 60


class Bar(msgspec.Struct, frozen=True, kw_only=True):
    x: float
    y: float
    width: float
    height: float
    label: str


class MeterUsage(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    unit_name: str
    used: int
    included: int
    limit: int | None
    percent: int
    """Of the limit when there is one, else of what is included (0 when neither)."""
    overage_units: int
    overage_amount: int
    currency: str
    period_start: datetime
    period_end: datetime
    bars: list[Bar]
    peak: int


class UsageModel(msgspec.Struct, frozen=True, kw_only=True):
    meters: list[MeterUsage]
    credit: dict[str, int]


def _bars(
    daily: dict[str, usage.Totals], aggregation: str, start: datetime, end: datetime
) -> tuple[list[Bar], int]:
    days = []
    day = start.date()
    last = min(end, clock.now()).date()
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    values = [
        (d, daily[d].event_count if aggregation == MeterAggregation.COUNT else daily[d].total)
        if d in daily
        else (d, 0)
        for d in days
    ]
    peak = max((v for _, v in values), default=0)
    if not values:
        return [], 0
    width = CHART_WIDTH / len(values)
    bars = []
    for index, (label, value) in enumerate(values):
        height = 0.0 if peak == 0 else round(CHART_HEIGHT * value / peak, 2)
        bars.append(
            Bar(
                x=round(index * width, 2),
                y=round(CHART_HEIGHT - height, 2),
                width=round(max(width - 1, 1), 2),
                height=height,
                label=f"{label}: {value}",
            )
        )
    return bars, peak


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
            totals = (await usage.usage_totals(org_id, customer_id, [meter.event_name], start, end))[
                meter.event_name
            ]
            used = totals.event_count if meter.aggregation == MeterAggregation.COUNT else totals.total
            ceiling = component.usage_limit or component.included_units
            daily = await usage.daily_usage(org_id, customer_id, meter.event_name, start, end)
            bars, peak = _bars(daily, meter.aggregation, start, end)
            meters.append(
                MeterUsage(
                    name=meter.name,
                    unit_name=meter.unit_name,
                    used=used,
                    included=component.included_units,
                    limit=component.usage_limit,
                    percent=min(100, round(100 * used / ceiling)) if ceiling else 0,
                    overage_units=max(0, used - component.included_units),
                    overage_amount=costs.get(component.meter_id, 0),
                    currency=sub.currency,
                    period_start=start,
                    period_end=end,
                    bars=bars,
                    peak=peak,
                )
            )
    wallets = await wallet.list_wallets(org_id, customer_id)
    return UsageModel(meters=meters, credit={w.currency: int(w.balance) for w in wallets if w.balance})


VIEW = View(slug="usage", title="Usage", load=load)
