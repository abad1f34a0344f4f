"""Analytics' routes: portal analytics (``/v1/analytics``), the merchant's and each customer's activity
log (``/v1/activity``, ``/v1/customers/{id}/activity``), and CSV exports of a customer's data, streamed
(``server.analytics.exports``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from server import clock
from server.analytics import exports, portal_analytics
from server.analytics.portal_analytics import ActivityEntry, PendingEvents, PortalReport
from server.customers import service as customers
from server.db.tables import Organization
from server.errors import Invalid
from server.http.openapi import API_KEY_SECURITY, problems
from server.schemas.common import Page

DEFAULT_DAYS = 30


def DateTimeParam(description: str) -> Any:
    return QueryParameter(
        description=f"ISO 8601 date-time, {description}.", schema_extra={"format": "date-time"}
    )


def _moment(value: str, name: str) -> datetime:
    """An ISO 8601 date-time (UTC when it names no offset); nothing else, not even a Unix time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"{name} must be an ISO 8601 date-time such as 2026-11-01T00:00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AnalyticsController(Controller):
    path = "/v1/analytics"
    tags = ["analytics"]
    security = API_KEY_SECURITY

    @get("/portal", operation_id="getPortalAnalytics", responses=problems(422))
    async def portal(
        self,
        org: NamedDependency[Organization],
        portal_events: NamedDependency[PendingEvents],
        start: Annotated[str | None, DateTimeParam("inclusive; default 30 days before end")] = None,
        end: Annotated[str | None, DateTimeParam("exclusive; default now")] = None,
    ) -> PortalReport:
        """Logins per day (and how: embed, link, magic link), views per section, self-service actions by
        type and outcome, cancellation reasons with counts and comments, the cancel-flow funnel, the retention
        funnel (cancel started, reason, offer shown, accepted or declined, canceled or abandoned) by reason
        and offer with the monthly revenue accepted offers keep, and the median time from opening the portal
        to completing an action. At most 366 days."""
        await portal_events.flush()
        until = _moment(end, "end") if end is not None else clock.now()
        since = _moment(start, "start") if start is not None else until - timedelta(days=DEFAULT_DAYS)
        return await portal_analytics.report(org.id, since, until)


class CustomerActivityController(Controller):
    path = "/v1/customers/{customer_id:uuid}/activity"
    tags = ["customers"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listCustomerActivity", responses=problems(404, 422))
    async def activity(
        self,
        org: NamedDependency[Organization],
        customer_id: FromPath[UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Newest entries, 1 to 100.")] = 50,
    ) -> Page[ActivityEntry]:
        """What changed on this customer's account, newest first, and who did it (customer in the portal,
        merchant through the API, or system jobs such as renewals)."""
        await customers.get_customer(org.id, customer_id)
        return Page(
            items=await portal_analytics.list_activity(org.id, customer_id, limit=limit), next_cursor=None
        )


class MerchantActivityController(Controller):
    path = "/v1/activity"
    tags = ["analytics"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listMerchantActivity", responses=problems(422))
    async def activity(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Newest entries, 1 to 100.")] = 50,
    ) -> Page[ActivityEntry]:
        """Changes to your own settings, newest first: API keys, webhook endpoints and deliveries, portal
        settings, sign-in providers and the console team. ``staff`` names the console staff member who
        made the change; ``details.api_key`` the prefix of the API key that did."""
        items = await portal_analytics.list_merchant_activity(org.id, limit=limit)
        return Page(items=items, next_cursor=None)


CSV = "text/csv; charset=utf-8"


def _download(rows: object, name: str) -> Stream:
    return Stream(
        rows,  # type: ignore[arg-type]
        media_type=CSV,
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


class ExportController(Controller):
    path = "/v1/customers/{customer_id:uuid}"
    tags = ["exports"]
    security = API_KEY_SECURITY

    @get("/usage.csv", operation_id="exportCustomerUsage", media_type=CSV, responses=problems(404))
    async def usage_csv(self, org: NamedDependency[Organization], customer_id: FromPath[UUID]) -> Stream:
        """The customer's usage per UTC day and meter, oldest day first: ``date, meter_id, meter,
        event_name, unit, value`` (a meter's value is the sum or count it bills). Streamed."""
        return _download(await exports.usage_csv(org.id, customer_id), "usage.csv")

    @get("/orders.csv", operation_id="exportCustomerOrders", media_type=CSV, responses=problems(404))
    async def orders_csv(self, org: NamedDependency[Organization], customer_id: FromPath[UUID]) -> Stream:
        """The customer's orders and invoices, oldest first, amounts in minor units. Streamed."""
        return _download(await exports.orders_csv(org.id, customer_id), "orders.csv")
