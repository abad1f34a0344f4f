"""A subscription's spend cap (``/v1/subscriptions/{id}/spend-cap``): the most its usage beyond what is
included may add to one period's invoice."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.api.openapi import API_KEY_SECURITY, example_body, problems
from server.db.tables import Organization
from server.schemas.usage import SpendCapOut, SpendCapSet
from server.services import spend_caps


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
