"""Spend caps: the most a subscription's usage beyond what is included may add to one period's invoice. The
customer sets one in the usage view where the merchant allows it (``features.spend_caps``); the merchant
sets one through the API whatever the setting. Renewals bill the overage up to the cap and no further
(``subscriptions._spend_cap_line``). Checked after every ingestion batch: a cap reached notifies once per
subscription and period (a conditional insert on that unique key, so concurrent batches notify once): a
``usage.cap_reached`` webhook, an email to the billing address and a loader event. The merchant's app
decides what to block: the batch's answer lists the capped customers, and the usage report says so."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any
from uuid import UUID

from server import clock
from server.db.engine import write_transaction
from server.db.tables import Organization, PriceMeter, SpendCap, SpendCapHit
from server.enums import LIVE, Actor
from server.errors import Forbidden, Invalid, NotFound
from server.i18n import gettext as _
from server.schemas.portal_settings import load_portal_settings
from server.subscriptions.service import get_subscription
from server.usage.schemas import SpendCapOut
from server.usage.usage_alerts import Notifier, email_customer
from server.usage.usage_report import Reports, SubscriptionOverage
from server.webhooks.outbox import record_event

MAX_CAP = 10**12
"""Minor units."""


async def customers_may_set(org_id: UUID) -> bool:
    """Whether the merchant lets customers set their own caps in the usage view (``features.spend_caps``)."""
    org = await Organization.objects().where(Organization.id == org_id).first()
    return org is not None and load_portal_settings(org).features.spend_caps


async def _check_customer_may_set(org_id: UUID, customer_id: UUID | None) -> None:
    if customer_id is not None and not await customers_may_set(org_id):
        raise Forbidden(_("Spend caps are not available here."))


async def set_cap(
    org_id: UUID, subscription_id: UUID, amount: int, *, customer_id: UUID | None = None
) -> SpendCapOut:
    """Set (or change) a subscription's cap, in minor units of its currency; 0 bills no overage at all.
    With ``customer_id``: the customer sets it in the portal, on a subscription of theirs, where the
    merchant allows it; without, the merchant does."""
    if not 0 <= amount <= MAX_CAP:
        raise Invalid(f"a spend cap is 0 to {MAX_CAP} minor units, not {amount}")
    await _check_customer_may_set(org_id, customer_id)
    set_by = Actor.MERCHANT if customer_id is None else Actor.CUSTOMER
    subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    if subscription.status not in LIVE:
        raise Invalid("this subscription has ended")
    if not await PriceMeter.exists().where(PriceMeter.price == subscription.price):
        raise Invalid("this subscription is not billed by usage")
    now = clock.now()
    async with write_transaction():
        changed = await (
            SpendCap.update({SpendCap.amount: amount, SpendCap.set_by: set_by, SpendCap.updated_at: now})
            .where(SpendCap.subscription == subscription.id)
            .returning(SpendCap.id)
        )
        if not changed:
            cap = SpendCap(
                org=org_id,
                customer=subscription.customer,
                subscription=subscription.id,
                amount=amount,
                currency=subscription.currency,
                set_by=set_by,
                updated_at=now,
            )
            await cap.save()
    return await get_cap(org_id, subscription.id)


async def remove_cap(org_id: UUID, subscription_id: UUID, *, customer_id: UUID | None = None) -> None:
    """Remove a subscription's cap: the overage is billed in full again. ``customer_id`` as for
    ``set_cap``."""
    await _check_customer_may_set(org_id, customer_id)
    subscription = await get_subscription(org_id, subscription_id, customer_id=customer_id)
    removed = await SpendCap.delete().where(SpendCap.subscription == subscription.id).returning(SpendCap.id)
    if not removed:
        raise NotFound(f"subscription {subscription_id} has no spend cap")


async def get_cap(org_id: UUID, subscription_id: UUID) -> SpendCapOut:
    """A subscription's cap with this period's overage against it (``GET …/spend-cap``, and the data of
    ``usage.cap_reached``)."""
    cap = (
        await SpendCap.objects()
        .where(SpendCap.org == org_id, SpendCap.subscription == subscription_id)
        .first()
    )
    if cap is None:
        raise NotFound(f"subscription {subscription_id} has no spend cap")
    report = await Reports(org_id).of(UUID(str(cap.customer)))
    for overage in report.subscriptions:
        if overage.subscription_id == subscription_id:
            return SpendCapOut.of(report.customer_id, overage)
    # not metered this period (paused, ended): nothing counts against the cap
    subscription = await get_subscription(org_id, subscription_id)
    return SpendCapOut.idle(cap, subscription)


async def check_caps(
    notifier: Notifier, org_id: UUID, customer_ids: Collection[UUID], reports: Reports
) -> list[UUID]:
    """Notify every cap these customers have reached that has not notified this period; the customers with
    a cap reached (newly or before). Run after an ingestion batch commits, for the customers it added usage
    to."""
    if not customer_ids:
        return []
    with_caps = {
        str(row["customer"])
        for row in await SpendCap.select(SpendCap.customer).where(
            SpendCap.org == org_id, SpendCap.customer.is_in(list(customer_ids))
        )
    }
    capped = []
    for customer_id in customer_ids:
        if str(customer_id) not in with_caps:
            continue
        report = await reports.of(customer_id)
        for overage in report.subscriptions:
            if overage.capped:
                await _notify(notifier, org_id, customer_id, overage)
        if report.capped:
            capped.append(customer_id)
    return capped


async def _notify(notifier: Notifier, org_id: UUID, customer_id: UUID, overage: SubscriptionOverage) -> None:
    """Record the cap reached once (a second batch's insert finds the row and does nothing) and, in the same
    transaction, the webhook and the email."""
    now = clock.now()
    row = SpendCapHit(
        id=uuid.uuid4(),
        org=org_id,
        customer=customer_id,
        subscription=overage.subscription_id,
        period_start=overage.period_start,
        created_at=now,
    )
    async with write_transaction():
        inserted = await (
            SpendCapHit.insert(row)
            .on_conflict(target=(SpendCapHit.subscription, SpendCapHit.period_start), action="DO NOTHING")
            .returning(SpendCapHit.id)
        )
        if not inserted:
            return
        reached = SpendCapOut.of(customer_id, overage, reached_at=now)
        await record_event(org_id, "usage.cap_reached", reached)
        await email_customer(
            notifier,
            org_id,
            customer_id,
            subject=lambda: _("Spend cap reached: %(product)s", product=overage.product_name),
            template="usage_cap",
            context={"cap": reached, "product": overage.product_name},
        )


async def announce_hits(org_id: UUID, customer_id: UUID) -> list[dict[str, Any]]:
    """The caps reached that the portal has not yet told the embedding page about, as loader events (ids
    only), marked told. A read first: nearly always there is nothing."""
    fresh = SpendCapHit.announced_at.is_null()
    if not await SpendCapHit.exists().where(SpendCapHit.customer == customer_id, fresh):
        return []
    told = await (
        SpendCapHit.update({SpendCapHit.announced_at: clock.now()})
        .where(SpendCapHit.org == org_id, SpendCapHit.customer == customer_id, fresh)
        .returning(SpendCapHit.subscription)
    )
    return [
        {"type": "usage.cap_reached", "data": {"subscription_id": str(row["subscription"])}} for row in told
    ]
