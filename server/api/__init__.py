"""The merchant REST API (/v1): one module per resource; ``ROUTE_HANDLERS`` is what the app mounts."""

from server.api.organization import OrganizationController
from server.api.webhooks import WebhookDeliveryController, WebhookEndpointController

ROUTE_HANDLERS: list[type] = [OrganizationController, WebhookEndpointController, WebhookDeliveryController]
