"""The merchant REST API (/v1): one module per resource; ``ROUTE_HANDLERS`` is what the app mounts."""

from server.api.api_keys import ApiKeyController
from server.api.benefits import BenefitController
from server.api.customer_sessions import CustomerSessionController
from server.api.customers import CustomerController
from server.api.meters import MeterController
from server.api.organization import OrganizationController
from server.api.portal_settings import PortalSettingsController
from server.api.products import PriceController, ProductController
from server.api.webhooks import WebhookDeliveryController, WebhookEndpointController

ROUTE_HANDLERS: list[type] = [
    OrganizationController,
    CustomerController,
    CustomerSessionController,
    ApiKeyController,
    ProductController,
    PriceController,
    MeterController,
    BenefitController,
    PortalSettingsController,
    WebhookEndpointController,
    WebhookDeliveryController,
]
