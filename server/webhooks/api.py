"""Webhook endpoints (with their signing secrets) and the delivery log with redelivery."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from server.db.tables import Organization
from server.enums import DeliveryStatus
from server.http.openapi import CursorParam, LimitParam, example_body, problems
from server.schemas.common import Page
from server.security.keyring import Keyring
from server.settings import Settings
from server.webhooks import endpoints
from server.webhooks.schemas import (
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
)

ENDPOINT_EXAMPLE = {
    "url": "https://example.com/webhooks/selfserve",
    "event_types": ["subscription.canceled", "order.paid"],
    "description": "billing sync",
}


class WebhookEndpointController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]

    @post("/", operation_id="createWebhookEndpoint", responses=problems(writes=True))
    async def create_endpoint(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        settings: NamedDependency[Settings],
        data: Annotated[WebhookEndpointCreate, example_body(ENDPOINT_EXAMPLE)],
    ) -> WebhookEndpointOut:
        """Register a receiver. The answer carries its ``whsec_`` signing secret, shown only this once.
        An empty ``event_types`` subscribes to every type."""
        endpoint, secret = await endpoints.create_endpoint(
            org.id, keyring, data, allow_local=settings.allow_local_webhooks
        )
        return WebhookEndpointOut.of(endpoint, secret)

    @get("/", operation_id="listWebhookEndpoints", responses=problems(422))
    async def list_endpoints(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[WebhookEndpointOut]:
        """Your endpoints, oldest first (without secrets)."""
        page = await endpoints.list_endpoints(org.id, limit=limit, cursor=cursor)
        return Page(items=[WebhookEndpointOut.of(e) for e in page.items], next_cursor=page.next_cursor)

    @get("/{endpoint_id:uuid}", operation_id="getWebhookEndpoint", responses=problems(404))
    async def get_endpoint(
        self, org: NamedDependency[Organization], endpoint_id: FromPath[UUID]
    ) -> WebhookEndpointOut:
        """One endpoint, with why it was disabled if it was."""
        return WebhookEndpointOut.of(await endpoints.get_endpoint(org.id, endpoint_id))

    @patch("/{endpoint_id:uuid}", operation_id="updateWebhookEndpoint", responses=problems(404, writes=True))
    async def update_endpoint(
        self,
        org: NamedDependency[Organization],
        settings: NamedDependency[Settings],
        endpoint_id: FromPath[UUID],
        data: Annotated[WebhookEndpointUpdate, example_body({"enabled": True})],
    ) -> WebhookEndpointOut:
        """Change the URL, event types, description, or enable/disable it."""
        endpoint = await endpoints.update_endpoint(
            org.id, endpoint_id, data, allow_local=settings.allow_local_webhooks
        )
        return WebhookEndpointOut.of(endpoint)

    @delete("/{endpoint_id:uuid}", operation_id="deleteWebhookEndpoint", responses=problems(404))
    async def delete_endpoint(self, org: NamedDependency[Organization], endpoint_id: FromPath[UUID]) -> None:
        """Delete an endpoint and its delivery log."""
        await endpoints.delete_endpoint(org.id, endpoint_id)

    @post(
        "/{endpoint_id:uuid}/rotate-secret",
        operation_id="rotateWebhookEndpointSecret",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def rotate_secret(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        endpoint_id: FromPath[UUID],
    ) -> WebhookEndpointOut:
        """A new secret, shown only this once. For 24 hours deliveries carry signatures with both the new
        and the previous secret, so your receiver can switch over without dropping any."""
        endpoint, secret = await endpoints.rotate_secret(org.id, keyring, endpoint_id)
        return WebhookEndpointOut.of(endpoint, secret)


class WebhookDeliveryController(Controller):
    path = "/v1/webhook-deliveries"
    tags = ["webhooks"]

    @get("/", operation_id="listWebhookDeliveries", responses=problems(422))
    async def list_deliveries(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
        endpoint_id: FromQuery[UUID | None] = None,
        status: FromQuery[DeliveryStatus | None] = None,
    ) -> Page[WebhookDeliveryOut]:
        """The delivery log, oldest first: one row per event and endpoint with its status, attempts, last
        response code, error and duration."""
        page = await endpoints.list_deliveries(
            org.id, limit=limit, cursor=cursor, endpoint_id=endpoint_id, status=status
        )
        return Page(items=[WebhookDeliveryOut.of(d) for d in page.items], next_cursor=page.next_cursor)

    @get("/{delivery_id:uuid}", operation_id="getWebhookDelivery", responses=problems(404))
    async def get_delivery(
        self, org: NamedDependency[Organization], delivery_id: FromPath[UUID]
    ) -> WebhookDeliveryOut:
        """One delivery."""
        return WebhookDeliveryOut.of(await endpoints.get_delivery(org.id, delivery_id))

    @post(
        "/{delivery_id:uuid}/redeliver",
        operation_id="redeliverWebhook",
        status_code=202,
        responses=problems(404, writes=True),
    )
    async def redeliver(
        self, org: NamedDependency[Organization], delivery_id: FromPath[UUID]
    ) -> WebhookDeliveryOut:
        """Send this event to this endpoint again now, with a fresh set of retries (also after it failed
        for good). The ``webhook-id`` stays the event's id, so receivers can deduplicate."""
        return WebhookDeliveryOut.of(await endpoints.redeliver(org.id, delivery_id))
