"""``POST /v1/events`` as a whole: store the batch (``server.metering.service.ingest_events``), then check
the alerts and spend caps of the customers it added usage to, each customer's usage report made once for
both."""

from __future__ import annotations

from uuid import UUID

from server.db.tables import Customer
from server.metering.service import UsageEventIn, ingest_events
from server.usage import spend_caps, usage_alerts
from server.usage.schemas import CappedCustomerOut, EventsIngestedOut
from server.usage.usage_alerts import Notifier
from server.usage.usage_report import Reports


async def ingest(notifier: Notifier, org_id: UUID, events: list[UsageEventIn]) -> EventsIngestedOut:
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
    return EventsIngestedOut(
        inserted=result.inserted,
        duplicates=result.duplicates,
        capped_customers=[
            CappedCustomerOut(customer_id=str(r["id"]), external_customer_id=r["external_id"]) for r in rows
        ],
    )
