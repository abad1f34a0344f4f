"""``POST /v1/events`` as a whole: store the batch (``usage.ingest_events``), then check the alerts and spend
caps of the customers it added usage to, each customer's usage report made once for both."""

from __future__ import annotations

from uuid import UUID

import msgspec

from server.db.tables import Customer
from server.services import spend_caps, usage_alerts
from server.services.usage import IngestResult, UsageEventIn, ingest_events
from server.services.usage_alerts import Notifier
from server.services.usage_report import Reports


class CappedCustomer(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: UUID
    external_id: str | None


class Ingested(msgspec.Struct, frozen=True, kw_only=True):
    result: IngestResult
    capped: list[CappedCustomer]
    """The batch's customers whose spend cap is reached this period (for the merchant's app to act on)."""


async def ingest(notifier: Notifier, org_id: UUID, events: list[UsageEventIn]) -> Ingested:
    result = await ingest_events(org_id, events)
    reports = Reports(org_id)
    await usage_alerts.check_alerts(notifier, org_id, result.customer_ids, reports)
    capped = await spend_caps.check_caps(notifier, org_id, result.customer_ids, reports)
    rows = (
        await Customer.select(Customer.id, Customer.external_id)
        .where(Customer.id.is_in(capped))
        .order_by(Customer.id)
        if capped
        else []
    )
    return Ingested(
        result=result,
        capped=[CappedCustomer(customer_id=r["id"], external_id=r["external_id"]) for r in rows],
    )
