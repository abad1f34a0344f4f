"""Usage alerts: thresholds a customer sets in the usage view (or a merchant sets for every customer) at a
share of the included units, a share of the limit, or a projected overage cost. Checked after every
ingestion batch against the usage report; a threshold reached notifies once per alert, subscription, meter
and billing period (a conditional insert on that unique key, so concurrent batches notify once): an email to
the billing address in the customer's language, a ``usage.threshold_reached`` webhook, and an event the
portal hands to the embedding page the next time it shows a view (``announce_hits``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from server import clock, i18n
from server.db.engine import write_transaction
from server.db.pagination import Page, paginate
from server.db.tables import Customer, Meter, Organization, UsageAlert, UsageAlertHit
from server.enums import UsageAlertKind
from server.errors import Conflict, Invalid, NotFound
from server.i18n import gettext as _
from server.mail import queue_email
from server.money import normalize_currency
from server.schemas.common import Page as ApiPage
from server.security.keyring import Keyring
from server.usage.schemas import MeterUsageOut, UsageAlertOut, UsageThresholdOut
from server.usage.usage_report import MeterUsage, Reports
from server.webhooks.outbox import record_event

MAX_ALERTS = 20
"""Alerts per customer (and defaults per merchant)."""
MAX_PERCENT = 1000


# -- settings ------------------------------------------------------------------------------------------


async def create_alert(
    org_id: UUID,
    *,
    customer_id: UUID | None,
    kind: UsageAlertKind,
    threshold: int,
    meter_id: UUID | None = None,
    currency: str | None = None,
) -> UsageAlert:
    """A customer's alert, or with no ``customer_id`` a default for every customer of the merchant. Percent
    kinds take 1 to 1,000 (%) and no currency; a projected overage takes an amount in minor units of
    ``currency``, and applies to subscriptions billed in it."""
    if kind == UsageAlertKind.PROJECTED_OVERAGE:
        if currency is None:
            raise Invalid("a projected_overage alert needs the currency of its amount")
        currency = normalize_currency(currency)
        if threshold < 1:
            raise Invalid("the amount must be at least 1 minor unit")
    else:
        if currency is not None:
            raise Invalid(f"a {kind} alert is a percentage: leave currency out")
        if not 1 <= threshold <= MAX_PERCENT:
            raise Invalid(f"a percentage between 1 and {MAX_PERCENT}, not {threshold}")
    if customer_id is not None and not await Customer.exists().where(
        Customer.org == org_id, Customer.id == customer_id, Customer.deleted_at.is_null()
    ):
        raise NotFound(f"no customer {customer_id}")
    if meter_id is not None and not await Meter.exists().where(Meter.org == org_id, Meter.id == meter_id):
        raise NotFound(f"no meter {meter_id}")
    async with write_transaction():
        siblings = await UsageAlert.objects().where(UsageAlert.org == org_id, _owned_by(customer_id))
        if len(siblings) >= MAX_ALERTS:
            raise Conflict(f"at most {MAX_ALERTS} alerts: remove one first")
        same = (str(meter_id) if meter_id else None, kind, threshold, currency)
        if any((_text(a.meter), a.kind, a.threshold, a.currency) == same for a in siblings):
            raise Conflict("this alert is already set")
        alert = UsageAlert(
            org=org_id,
            customer=customer_id,
            meter=meter_id,
            kind=kind,
            threshold=threshold,
            currency=currency,
            created_at=clock.now(),
        )
        await alert.save()
    return alert


def _owned_by(customer_id: UUID | None) -> Any:
    return UsageAlert.customer.is_null() if customer_id is None else UsageAlert.customer == customer_id


def _text(value: object) -> str | None:
    return None if value is None else str(value)


async def get_alert(org_id: UUID, alert_id: UUID, *, customer_id: UUID | None = None) -> UsageAlert:
    """An alert of the merchant's; with ``customer_id`` only one that customer set."""
    query = UsageAlert.objects().where(UsageAlert.org == org_id, UsageAlert.id == alert_id)
    if customer_id is not None:
        query = query.where(UsageAlert.customer == customer_id)
    alert = await query.first()
    if alert is None:
        raise NotFound(f"no usage alert {alert_id}")
    return alert


async def list_alerts(
    org_id: UUID, *, customer_id: UUID | None, limit: int, cursor: str | None = None
) -> Page[UsageAlert]:
    """A customer's own alerts, or without ``customer_id`` the merchant's defaults; oldest first."""
    query = UsageAlert.objects().where(UsageAlert.org == org_id, _owned_by(customer_id))
    return await paginate(query, UsageAlert, limit=limit, cursor=cursor)


async def alerts_for(org_id: UUID, customer_id: UUID) -> list[UsageAlert]:
    """Every alert that watches this customer: the merchant's defaults, then the customer's own."""
    rows = await (
        UsageAlert.objects()
        .where(
            UsageAlert.org == org_id,
            UsageAlert.customer.is_null() | (UsageAlert.customer == customer_id),
        )
        .order_by(UsageAlert.created_at)
    )
    return sorted(rows, key=lambda a: a.customer is not None)


async def delete_alert(org_id: UUID, alert_id: UUID, *, customer_id: UUID | None = None) -> None:
    """Remove an alert; a customer (``customer_id``) may remove only the ones they set."""
    alert = await get_alert(org_id, alert_id, customer_id=customer_id)
    await UsageAlert.delete().where(UsageAlert.id == alert.id)


# -- reaching them ---------------------------------------------------------------------------------------


def applies(alert: UsageAlert, meter: MeterUsage) -> bool:
    return (alert.meter is None or str(alert.meter) == str(meter.meter_id)) and (
        alert.currency is None or alert.currency == meter.currency
    )


def measurable(kind: UsageAlertKind, meter: MeterUsage) -> bool:
    """Whether ``meter`` has the figure an alert of ``kind`` watches: units included, a limit."""
    if kind == UsageAlertKind.INCLUDED_PERCENT:
        return meter.figures.included > 0
    if kind == UsageAlertKind.LIMIT_PERCENT:
        return bool(meter.figures.limit)
    return True


def reached(alert: UsageAlert, meter: MeterUsage) -> bool:
    """Whether ``meter``'s figures have reached ``alert`` (a kind the meter has no figure for never is)."""
    figures, threshold = meter.figures, int(alert.threshold)
    if alert.kind == UsageAlertKind.INCLUDED_PERCENT:
        return figures.included > 0 and 100 * figures.used >= threshold * figures.included
    if alert.kind == UsageAlertKind.LIMIT_PERCENT:
        return bool(figures.limit) and 100 * figures.used >= threshold * (figures.limit or 0)
    projected = meter.projected_overage_amount
    return projected is not None and projected >= threshold


class Notifier(msgspec.Struct, frozen=True):
    """What sending a notification needs from the app: the keyring (mail is stored encrypted) and the public
    URL its link starts with."""

    keyring: Keyring
    public_url: str


async def check_alerts(
    notifier: Notifier, org_id: UUID, customer_ids: Collection[UUID], reports: Reports
) -> None:
    """Notify every alert these customers' usage has reached and that has not notified this period. Run
    after an ingestion batch commits, for the customers it added usage to."""
    if not customer_ids:
        return
    alerts = await UsageAlert.objects().where(
        UsageAlert.org == org_id,
        UsageAlert.customer.is_null() | UsageAlert.customer.is_in(list(customer_ids)),
    )
    if not alerts:
        return
    defaults = [a for a in alerts if a.customer is None]
    own: dict[str, list[UsageAlert]] = defaultdict(list)
    for alert in alerts:
        if alert.customer is not None:
            own[str(alert.customer)].append(alert)
    watched = customer_ids if defaults else [UUID(c) for c in own]
    for customer_id in watched:
        for meter in (await reports.of(customer_id)).meters:
            for alert in [*defaults, *own[str(customer_id)]]:
                if applies(alert, meter) and reached(alert, meter):
                    await _notify(notifier, org_id, customer_id, alert, meter)


async def _notify(
    notifier: Notifier, org_id: UUID, customer_id: UUID, alert: UsageAlert, meter: MeterUsage
) -> None:
    """Record the hit once (a second batch's insert finds the row and does nothing) and, in the same
    transaction, the webhook and the email."""
    row = UsageAlertHit(
        id=uuid.uuid4(),
        org=org_id,
        alert=alert.id,
        customer=customer_id,
        subscription=meter.subscription_id,
        meter=meter.meter_id,
        period_start=meter.period_start,
        usage=msgspec.json.encode(MeterUsageOut.of(meter)).decode(),
        created_at=clock.now(),
    )
    once = (UsageAlertHit.alert, UsageAlertHit.subscription, UsageAlertHit.meter, UsageAlertHit.period_start)
    async with write_transaction():
        inserted = await (
            UsageAlertHit.insert(row)
            .on_conflict(target=once, action="DO NOTHING")
            .returning(UsageAlertHit.id)
        )
        if not inserted:
            return
        hit = await get_threshold(org_id, row.id)
        await record_event(org_id, "usage.threshold_reached", hit)
        await _email(notifier, org_id, customer_id, hit)


async def _email(notifier: Notifier, org_id: UUID, customer_id: UUID, hit: UsageThresholdOut) -> None:
    await email_customer(
        notifier,
        org_id,
        customer_id,
        subject=lambda: _("Usage alert: %(meter)s", meter=hit.usage.name),
        template="usage_alert",
        context={"hit": hit},
    )


async def email_customer(
    notifier: Notifier,
    org_id: UUID,
    customer_id: UUID,
    *,
    subject: Callable[[], str],
    template: str,
    context: dict[str, Any],
) -> None:
    """Queue a usage email to the customer's billing address in their language, ``url`` (the hosted usage
    view) added to ``context``; ``subject`` is worded in that language."""
    customer = await Customer.objects().where(Customer.id == customer_id).first()
    org = await Organization.objects().where(Organization.id == org_id).first()
    assert customer is not None
    assert org is not None
    with i18n.use_locale(i18n.negotiate(customer.locale)):
        await queue_email(
            notifier.keyring,
            org_id,
            to=customer.billing_email or customer.email,
            subject=subject(),
            template=template,
            context={**context, "url": f"{notifier.public_url}/portal/{org.slug}?view=usage"},
        )


# -- notifications ---------------------------------------------------------------------------------------


def _threshold_out(hit: UsageAlertHit, alert: UsageAlert) -> UsageThresholdOut:
    return UsageThresholdOut(
        id=str(hit.id),
        alert_id=str(alert.id),
        customer_id=str(hit.customer),
        subscription_id=str(hit.subscription),
        meter_id=str(hit.meter),
        kind=alert.kind,
        threshold=int(alert.threshold),
        currency=alert.currency,
        period_start=hit.period_start,
        reached_at=hit.created_at,
        usage=msgspec.convert(_json(hit.usage), MeterUsageOut),
    )


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


async def get_threshold(org_id: UUID, hit_id: UUID) -> UsageThresholdOut:
    """One alert reached (``usage.threshold_reached`` carries it)."""
    hit = await UsageAlertHit.objects().where(UsageAlertHit.org == org_id, UsageAlertHit.id == hit_id).first()
    if hit is None:
        raise NotFound(f"no usage threshold {hit_id}")
    return _threshold_out(hit, await get_alert(org_id, UUID(str(hit.alert))))


async def list_thresholds(
    org_id: UUID, *, customer_id: UUID | None = None, limit: int, cursor: str | None = None
) -> ApiPage[UsageThresholdOut]:
    """Alerts reached, newest first; ``customer_id`` narrows them to one customer."""
    query = UsageAlertHit.objects().where(UsageAlertHit.org == org_id)
    if customer_id is not None:
        query = query.where(UsageAlertHit.customer == customer_id)
    page = await paginate(query, UsageAlertHit, limit=limit, cursor=cursor, newest_first=True)
    alerts = {
        str(a.id): a
        for a in await UsageAlert.objects().where(
            UsageAlert.id.is_in([h.alert for h in page.items] or [None])
        )
    }
    items = [_threshold_out(h, alerts[str(h.alert)]) for h in page.items]
    return ApiPage(items=items, next_cursor=page.next_cursor)


# -- in the portal ---------------------------------------------------------------------------------------


class AlertState(msgspec.Struct, frozen=True, kw_only=True):
    """An alert watching one meter, as the usage view lists it."""

    alert: UsageAlertOut
    own: bool
    """Set by the customer (who may remove it); otherwise a default of the merchant's."""
    reached_at: datetime | None
    """When it was reached in the meter's current period."""


async def alert_states(org_id: UUID, customer_id: UUID, meters: list[MeterUsage]) -> list[list[AlertState]]:
    """For each of ``meters`` (from ``customer_usage``), the alerts watching it and whether they were reached
    this period."""
    alerts = await alerts_for(org_id, customer_id)
    hits = await UsageAlertHit.select(
        UsageAlertHit.alert,
        UsageAlertHit.subscription,
        UsageAlertHit.meter,
        UsageAlertHit.period_start,
        UsageAlertHit.created_at,
    ).where(UsageAlertHit.org == org_id, UsageAlertHit.customer == customer_id)
    reached_at = {
        (str(h["alert"]), str(h["subscription"]), str(h["meter"]), h["period_start"]): h["created_at"]
        for h in hits
    }
    return [
        [
            AlertState(
                alert=UsageAlertOut.of(alert),
                own=alert.customer is not None,
                reached_at=reached_at.get(
                    (str(alert.id), str(meter.subscription_id), str(meter.meter_id), meter.period_start)
                ),
            )
            for alert in alerts
            if applies(alert, meter)
        ]
        for meter in meters
    ]


async def announce_hits(org_id: UUID, customer_id: UUID) -> list[dict[str, Any]]:
    """The alerts reached that the portal has not yet told the embedding page about, as loader events
    (ids and figures, no personal data), marked told. A read first: nearly always there is nothing."""
    fresh = UsageAlertHit.announced_at.is_null()
    if not await UsageAlertHit.exists().where(UsageAlertHit.customer == customer_id, fresh):
        return []
    told = await (
        UsageAlertHit.update({UsageAlertHit.announced_at: clock.now()})
        .where(UsageAlertHit.org == org_id, UsageAlertHit.customer == customer_id, fresh)
        .returning(UsageAlertHit.id, UsageAlertHit.alert, UsageAlertHit.subscription, UsageAlertHit.meter)
    )
    return [
        {
            "type": "usage.threshold_reached",
            "data": {
                "id": str(row["id"]),
                "alert_id": str(row["alert"]),
                "subscription_id": str(row["subscription"]),
                "meter_id": str(row["meter"]),
            },
        }
        for row in told
    ]
