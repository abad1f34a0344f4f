"""``GET/PUT /v1/retention-settings``: the offer answering each cancellation reason, and how often a customer
may be offered one; ``GET /v1/retention-offers/{id}``: an offer shown and its answer. Rules:
``server.retention.service``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, example_body, problems
from server.retention import service as retention
from server.retention.schemas import (
    RETENTION_EXAMPLE,
    RetentionOfferOut,
    RetentionSettingsIn,
    RetentionSettingsOut,
)


class RetentionSettingsController(Controller):
    path = "/v1/retention-settings"
    tags = ["retention"]
    security = API_KEY_SECURITY

    @get("/", operation_id="getRetentionSettings", responses=problems())
    async def get_retention_settings(self, org: NamedDependency[Organization]) -> RetentionSettingsOut:
        """Your retention offers per cancellation reason (none until set) and the window."""
        return await retention.get_settings(org.id)

    @put("/", operation_id="putRetentionSettings", responses=problems(writes=True))
    async def put_retention_settings(
        self,
        org: NamedDependency[Organization],
        data: Annotated[RetentionSettingsIn, example_body(RETENTION_EXAMPLE)],
    ) -> RetentionSettingsOut:
        """Replace them. An offer is a ``pause`` for ``pause_periods`` renewals, a switch to the cheaper
        ``price_id`` or the coupon ``coupon_id``, with your ``message``; a plan that is cheaper than no
        other plan, or a coupon that does not exist or is retired, is refused with 422."""
        return await retention.put_settings(org.id, data)


class RetentionOfferController(Controller):
    path = "/v1/retention-offers"
    tags = ["retention"]
    security = API_KEY_SECURITY

    @get("/{offer_id:uuid}", operation_id="getRetentionOffer", responses=problems(404))
    async def get_retention_offer(
        self, org: NamedDependency[Organization], offer_id: FromPath[UUID]
    ) -> RetentionOfferOut:
        """An offer shown in a cancel flow (the ``id`` of the ``subscription.retention_offer_*`` webhooks):
        its reason, kind, outcome and the monthly revenue it kept, with the subscription as it is now."""
        return await retention.get_offer(org.id, offer_id)
