"""Usage alerts (``/v1/usage-alerts``: a customer's, or defaults for every customer) and the alerts reached
(``/v1/usage-thresholds``, the data of ``usage.threshold_reached``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from server.api.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.db.tables import Organization
from server.schemas.common import Page
from server.schemas.usage import UsageAlertCreate, UsageAlertOut, UsageThresholdOut
from server.services import usage_alerts

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
