"""Usage's routes:

- ``/v1/usage-alerts``: a customer's alerts, or defaults for every customer; ``/v1/usage-thresholds``:
  the alerts reached (the data of ``usage.threshold_reached``).
- ``/v1/subscriptions/{id}/spend-cap``: the most a subscription's usage beyond what is included may add
  to one period's invoice.
- ``POST /v1/events``: usage ingestion, up to 1,000 events per call.
- ``/v1/customers/{id}/usage``: a customer's usage this period."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from server.customers import service as customers
from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.schemas.common import Page
from server.security.keyring import Keyring
from server.settings import Settings
from server.usage import spend_caps, usage_alerts, usage_ingestion, usage_report
from server.usage.schemas import (
    EVENTS_EXAMPLE,
    CustomerUsageOut,
    EventBatch,
    EventsIngestedOut,
    SpendCapOut,
    SpendCapSet,
    UsageAlertCreate,
    UsageAlertOut,
    UsageThresholdOut,
)
from server.usage.usage_alerts import Notifier

ALERT_EXAMPLE = {"customer_id": None, "kind": "included_percent", "threshold": 80}
CustomerFilter = QueryParameter(description="One customer's; leave out for your defaults (alerts) or all.")


class UsageAlertController(Controller):
    path = "/v1/usage-alerts"
    tags = ["usage-alerts"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createUsageAlert", responses=problems(404, writes=True))
    async def create_alert(
        self,
        org: NamedDependency[Organization],
        data: Annotated[UsageAlertCreate, example_body(ALERT_EXAMPLE)],
    ) -> UsageAlertOut:
        """Set an alert for a customer, or without ``customer_id`` a default for every customer. Reaching it
        emails the customer's billing address and sends ``usage.threshold_reached``, once per period."""
        alert = await usage_alerts.create_alert(
            org.id,
            customer_id=data.customer_id,
            kind=data.kind,
            threshold=data.threshold,
            meter_id=data.meter_id,
            currency=data.currency,
        )
        return UsageAlertOut.of(alert)

    @get("/", operation_id="listUsageAlerts", responses=problems(422))
    async def list_alerts(
        self,
        org: NamedDependency[Organization],
        customer_id: Annotated[UUID | None, CustomerFilter] = None,
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[UsageAlertOut]:
        """A customer's own alerts, or your defaults; oldest first."""
        page = await usage_alerts.list_alerts(org.id, customer_id=customer_id, limit=limit, cursor=cursor)
        return Page(items=[UsageAlertOut.of(a) for a in page.items], next_cursor=page.next_cursor)

    @get("/{alert_id:uuid}", operation_id="getUsageAlert", responses=problems(404))
    async def get_alert(self, org: NamedDependency[Organization], alert_id: FromPath[UUID]) -> UsageAlertOut:
        return UsageAlertOut.of(await usage_alerts.get_alert(org.id, alert_id))

    @delete("/{alert_id:uuid}", operation_id="deleteUsageAlert", responses=problems(404, writes=True))
    async def delete_alert(self, org: NamedDependency[Organization], alert_id: FromPath[UUID]) -> None:
        await usage_alerts.delete_alert(org.id, alert_id)


class UsageThresholdController(Controller):
    path = "/v1/usage-thresholds"
    tags = ["usage-alerts"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listUsageThresholds", responses=problems(422))
    async def list_thresholds(
        self,
        org: NamedDependency[Organization],
        customer_id: Annotated[UUID | None, CustomerFilter] = None,
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[UsageThresholdOut]:
        """Alerts reached, newest first."""
        return await usage_alerts.list_thresholds(org.id, customer_id=customer_id, limit=limit, cursor=cursor)

    @get("/{threshold_id:uuid}", operation_id="getUsageThreshold", responses=problems(404))
    async def get_threshold(
        self, org: NamedDependency[Organization], threshold_id: FromPath[UUID]
    ) -> UsageThresholdOut:
        """One alert reached, as ``usage.threshold_reached`` carried it."""
        return await usage_alerts.get_threshold(org.id, threshold_id)


class SpendCapController(Controller):
    path = "/v1/subscriptions/{subscription_id:uuid}/spend-cap"
    tags = ["usage-alerts"]
    security = API_KEY_SECURITY

    @put("/", operation_id="putSpendCap", responses=problems(404, writes=True))
    async def set_cap(
        self,
        org: NamedDependency[Organization],
        subscription_id: FromPath[UUID],
        data: Annotated[SpendCapSet, example_body({"amount": 5000})],
    ) -> SpendCapOut:
        """Set or change the cap, in minor units of the subscription's currency, whatever the portal lets
        customers do. Overage beyond it is not billed; reaching it sends ``usage.cap_reached`` once a
        period and lists the customer in the ingestion answer's ``capped_customers``."""
        return await spend_caps.set_cap(org.id, subscription_id, data.amount)

    @get("/", operation_id="getSpendCap", responses=problems(404))
    async def get_cap(
        self, org: NamedDependency[Organization], subscription_id: FromPath[UUID]
    ) -> SpendCapOut:
        """The cap and this period's overage against it (the data of ``usage.cap_reached``)."""
        return await spend_caps.get_cap(org.id, subscription_id)

    @delete("/", operation_id="deleteSpendCap", responses=problems(404, writes=True))
    async def remove_cap(self, org: NamedDependency[Organization], subscription_id: FromPath[UUID]) -> None:
        """Remove the cap: the overage is billed in full again."""
        await spend_caps.remove_cap(org.id, subscription_id)


class EventController(Controller):
    path = "/v1/events"
    tags = ["events"]
    security = API_KEY_SECURITY

    @post("/", operation_id="ingestEvents", status_code=200, responses=problems(404, writes=True))
    async def ingest_events(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        settings: NamedDependency[Settings],
        data: Annotated[EventBatch, example_body(EVENTS_EXAMPLE)],
    ) -> EventsIngestedOut:
        """Record usage events, each for a customer id or external id. An ``event_id`` already seen is
        skipped (``duplicates``), so retrying a batch is safe; a bad event refuses the whole batch. Usage
        alerts the new usage reaches notify once per period (``usage.threshold_reached``), and so do
        spend caps (``usage.cap_reached``); ``capped_customers`` lists the batch's customers whose cap is
        reached."""
        notifier = Notifier(keyring=keyring, public_url=settings.public_url)
        return await usage_ingestion.ingest(notifier, org.id, data.events)


class CustomerUsageController(Controller):
    path = "/v1/customers"
    tags = ["customers"]
    security = API_KEY_SECURITY

    @get("/{customer_id:uuid}/usage", operation_id="getCustomerUsage", responses=problems(404))
    async def get_customer_usage(
        self, org: NamedDependency[Organization], customer_id: FromPath[UUID]
    ) -> CustomerUsageOut:
        """This period's usage per meter of the customer's metered subscriptions: usage, included, limit,
        the projection to the period's end and what the overage costs so far and at that pace; ``capped``
        when a spend cap is reached (``spend_caps`` has each cap against this period's overage)."""
        await customers.get_customer(org.id, customer_id)
        return CustomerUsageOut.of(await usage_report.customer_usage(org.id, customer_id))
