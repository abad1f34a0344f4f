"""A customer's usage this period, beside the customer's own routes (``/v1/customers/{id}/usage``)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.api.openapi import API_KEY_SECURITY, problems
from server.db.tables import Organization
from server.schemas.usage import CustomerUsageOut
from server.services import customers, usage_report


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
