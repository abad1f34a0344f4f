"""Portal analytics and each customer's activity log, for the merchant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from server import clock
from server.api.openapi import API_KEY_SECURITY, problems
from server.db.tables import Organization
from server.schemas.common import Page
from server.services import customers, portal_analytics
from server.services.portal_analytics import ActivityEntry, PortalReport

DEFAULT_DAYS = 30


class AnalyticsController(Controller):
    path = "/v1/analytics"
    tags = ["analytics"]
    security = API_KEY_SECURITY

    @get("/portal", operation_id="getPortalAnalytics", responses=problems(422))
    async def portal(
        self,
        org: NamedDependency[Organization],
        start: Annotated[
            datetime | None, QueryParameter(description="Inclusive; default 30 days before end.")
        ] = None,
        end: Annotated[datetime | None, QueryParameter(description="Exclusive; default now.")] = None,
    ) -> PortalReport:
        """Logins per day (and how: embed, link, magic link), views per section, self-service actions by
        type and outcome, cancellation reasons with counts and comments, the cancel-flow funnel, and the
        median time from opening the portal to completing an action. At most 366 days."""
        until = end or clock.now()
        since = start or until - timedelta(days=DEFAULT_DAYS)
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
