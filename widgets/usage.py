"""Usage: per meter this cycle's usage against what is included and the limit, the projection to the
period's end, the overage so far and what it costs (all from ``services.usage_report``), a daily trend chart
with a table beside it, and the credit that pays for it."""

from __future__ import annotations

import msgspec
from babel.dates import format_date
from babel.numbers import format_decimal

from server import i18n
from server.auth.sessions import PortalContext
from server.services import usage_report, wallet
from server.services.usage import DayUsage
from server.services.usage_report import MeterUsage
from widgets import Params, View
from widgets.charts import Point, bar_chart


class MeterView(msgspec.Struct, frozen=True, kw_only=True):
    usage: MeterUsage
    chart: str
    """The daily trend as inline SVG (``widgets.charts``); empty when the period has not started."""
    peak: DayUsage | None


class UsageModel(msgspec.Struct, frozen=True, kw_only=True):
    meters: list[MeterView]
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
    report = await usage_report.customer_usage(org_id, customer_id, portal=True)
    meters = [
        MeterView(
            usage=meter,
            chart=_chart(meter.figures.days, meter.unit_name),
            peak=max(meter.figures.days, key=lambda d: d.value, default=None),
        )
        for meter in report.meters
    ]
    wallets = await wallet.list_wallets(org_id, customer_id)
    return UsageModel(meters=meters, credit={w.currency: int(w.balance) for w in wallets if w.balance})


VIEW = View(slug="usage", title="Usage", load=load)
