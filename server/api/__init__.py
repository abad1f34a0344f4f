"""The merchant REST API (/v1): one module per resource; ``ROUTE_HANDLERS`` is what the app mounts."""

from server.api.analytics import AnalyticsController, CustomerActivityController, MerchantActivityController
from server.api.api_keys import ApiKeyController
from server.api.benefits import BenefitController, BenefitGrantController
from server.api.coupons import CouponController
from server.api.customer_data import CustomerErasureController, DataExportController
from server.api.customer_seats import CustomerSeatController
from server.api.customer_sessions import CustomerSessionController
from server.api.customer_usage import CustomerUsageController
from server.api.customers import CustomerController
from server.api.events import EventController
from server.api.exports import ExportController
from server.api.meters import MeterController
from server.api.oauth_providers import ConnectedAccountController, OAuthProviderController
from server.api.orders import OrderController
from server.api.organization import OrganizationController
from server.api.payment_methods import PaymentMethodController
from server.api.payment_provider import PaymentProviderController
from server.api.portal_settings import PortalSettingsController
from server.api.products import PriceController, ProductController
from server.api.retention import RetentionOfferController, RetentionSettingsController
from server.api.spend_caps import SpendCapController
from server.api.stripe_webhooks import StripeWebhookController
from server.api.subscriptions import SubscriptionController
from server.api.tax import TaxRateController, TaxRegistrationController
from server.api.usage_alerts import UsageAlertController, UsageThresholdController
from server.api.wallets import WalletController
from server.api.webhooks import WebhookDeliveryController, WebhookEndpointController

ROUTE_HANDLERS: list[type] = [
    OrganizationController,
    CustomerController,
    CustomerUsageController,
    CustomerErasureController,
    DataExportController,
    CustomerSessionController,
    ApiKeyController,
    ProductController,
    PriceController,
    MeterController,
    BenefitController,
    BenefitGrantController,
    PortalSettingsController,
    OAuthProviderController,
    ConnectedAccountController,
    PaymentProviderController,
    StripeWebhookController,
    SubscriptionController,
    OrderController,
    CustomerSeatController,
    WalletController,
    PaymentMethodController,
    EventController,
    ExportController,
    UsageAlertController,
    UsageThresholdController,
    TaxRateController,
    TaxRegistrationController,
    CouponController,
    RetentionSettingsController,
    RetentionOfferController,
    SpendCapController,
    WebhookEndpointController,
    WebhookDeliveryController,
    AnalyticsController,
    CustomerActivityController,
    MerchantActivityController,
]
