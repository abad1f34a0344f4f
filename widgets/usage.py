"""Usage: per meter this cycle's usage against what is included and the limit, the projection to the
period's end, the overage so far and what it costs (all from ``server.usage.usage_report``), a daily trend
chart with a table beside it, alerts, each subscription's spend cap, and the credit that pays for it."""

from __future__ import annotations

from uuid import UUID

import msgspec
from babel.dates import format_skeleton
from babel.numbers import format_decimal

from server import i18n
from server.auth.sessions import PortalContext
from server.enums import UsageAlertKind
from server.errors import Invalid
from server.i18n import gettext as _
from server.metering.service import DayUsage
from server.money import parse_amount
from server.portal.documents import document_path
from server.usage import spend_caps, usage_alerts, usage_report
from server.usage.usage_alerts import AlertState
from server.usage.usage_report import MeterUsage, SubscriptionOverage
from server.wallet import service as wallet
from widgets.base import ActionResult, Form, Params, SubscriptionForm, View
from widgets.charts import Point, bar_chart


class MeterView(msgspec.Struct, frozen=True, kw_only=True):
    usage: MeterUsage
    chart: str
    """The daily trend as inline SVG (``widgets.charts``); empty when the period has not started."""
    peak: DayUsage | None
    alerts: list[AlertState]
    alert_kinds: list[str]
    """The kinds of alert this meter has a figure for (no share of the included units when none are)."""


class UsageModel(msgspec.Struct, frozen=True, kw_only=True):
    meters: list[MeterView]
    caps: list[SubscriptionOverage]
    """The metered subscriptions' overage against their spend caps: shown where the merchant lets customers
    set caps, or where one is set."""
    caps_editable: bool
    credit: dict[str, int]
    export_url: str
    """The daily usage as CSV, through a single-use link (``server.portal.documents``)."""


def _chart(days: list[DayUsage], unit: str) -> str:
    if not days:
        return ""
    locale = i18n.current_locale()

    def number(value: float) -> str:
        return str(format_decimal(value, locale=locale))

    points = [
        Point(
            # a skeleton, not a pattern: each locale orders day and month its own way (ja 12月1日, en Dec 1)
            axis=str(format_skeleton("MMMd", day.day, locale=locale)),
            value=day.value,
            spoken=f"{i18n.format_day(day.day)}: {number(day.value)} {unit}",
        )
        for day in days
    ]
    return str(bar_chart(points, number=number))


async def load(ctx: PortalContext, params: Params) -> UsageModel:
    org_id, customer_id = ctx.org.id, ctx.customer.id
    report = await usage_report.customer_usage(org_id, customer_id, portal=True)
    states = await usage_alerts.alert_states(org_id, customer_id, report.meters)
    meters = [
        MeterView(
            usage=meter,
            chart=_chart(meter.figures.days, meter.unit_name),
            peak=max(meter.figures.days, key=lambda d: d.value, default=None),
            alerts=alerts,
            alert_kinds=[kind for kind in UsageAlertKind if usage_alerts.measurable(kind, meter)],
        )
        for meter, alerts in zip(report.meters, states, strict=True)
    ]
    wallets = await wallet.list_wallets(org_id, customer_id)
    allowed = await spend_caps.customers_may_set(org_id)
    return UsageModel(
        meters=meters,
        caps=[s for s in report.subscriptions if allowed or s.cap is not None],
        caps_editable=allowed and not ctx.scopes.read_only,
        credit={w.currency: int(w.balance) for w in wallets if w.balance},
        export_url=document_path("usage_csv", customer_id),
    )


class AlertForm(Form, frozen=True):
    meter_id: UUID
    kind: UsageAlertKind
    threshold: str = ""
    """A percentage, or an amount in ``currency`` as the customer's language writes numbers."""
    currency: str = ""
    prompts = {
        "meter_id": lambda: _("Please choose what the alert watches."),
        "kind": lambda: _("Please choose what the alert watches."),
    }


async def add_alert(ctx: PortalContext, form: AlertForm) -> ActionResult:
    """An alert on one meter: a percentage, or a projected overage amount typed in the subscription's
    currency the way the customer's language writes numbers."""
    if form.kind == UsageAlertKind.PROJECTED_OVERAGE:
        try:
            threshold = parse_amount(form.threshold, form.currency, i18n.current_locale())
        except Invalid as exc:
            raise Invalid(_("Please enter an amount, such as 25 or 25.50.")) from exc
    else:
        threshold = int(form.threshold) if form.threshold.isdigit() else 0
        if not 1 <= threshold <= usage_alerts.MAX_PERCENT:
            raise Invalid(_("Please enter a percentage between 1 and 1000."))
    await usage_alerts.create_alert(
        ctx.org.id,
        customer_id=ctx.customer.id,
        kind=form.kind,
        threshold=threshold,
        meter_id=form.meter_id,
        currency=form.currency if form.kind == UsageAlertKind.PROJECTED_OVERAGE else None,
    )
    return ActionResult(
        message=_("Alert set. We will email %(email)s when it is reached.", email=_billing_email(ctx))
    )


class AlertIdForm(Form, frozen=True):
    alert_id: UUID
    prompts = {"alert_id": lambda: _("Please choose an alert.")}


async def remove_alert(ctx: PortalContext, form: AlertIdForm) -> ActionResult:
    await usage_alerts.delete_alert(ctx.org.id, form.alert_id, customer_id=ctx.customer.id)
    return ActionResult(message=_("Alert removed."))


class CapForm(Form, frozen=True):
    subscription_id: UUID
    amount: str = ""
    """In ``currency``, as the customer's language writes numbers."""
    currency: str = ""
    prompts = SubscriptionForm.prompts


async def set_cap(ctx: PortalContext, form: CapForm) -> ActionResult:
    """A subscription's spend cap, typed in its currency the way the customer's language writes numbers."""
    try:
        amount = parse_amount(form.amount, form.currency, i18n.current_locale())
    except Invalid as exc:
        raise Invalid(_("Please enter an amount, such as 25 or 25.50.")) from exc
    await spend_caps.set_cap(ctx.org.id, form.subscription_id, amount, customer_id=ctx.customer.id)
    return ActionResult(message=_("Spend cap set. Usage beyond it will not be billed."))


async def remove_cap(ctx: PortalContext, form: SubscriptionForm) -> ActionResult:
    await spend_caps.remove_cap(ctx.org.id, form.subscription_id, customer_id=ctx.customer.id)
    return ActionResult(message=_("Spend cap removed. Usage beyond what is included is billed in full."))


def _billing_email(ctx: PortalContext) -> str:
    return ctx.customer.billing_email or ctx.customer.email


VIEW = View(
    slug="usage",
    title="Usage",
    load=load,
    actions={
        "add_alert": add_alert,
        "remove_alert": remove_alert,
        "set_cap": set_cap,
        "remove_cap": remove_cap,
    },
)
