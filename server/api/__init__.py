"""The merchant REST API (/v1) as the app mounts it: each domain package's controllers
(``server.<domain>.api``) in one list, ``ROUTE_HANDLERS``, and the idempotency middleware in front."""

from server.analytics.api import (
    AnalyticsController,
    CustomerActivityController,
    ExportController,
    MerchantActivityController,
)
from server.benefits.api import BenefitController, BenefitGrantController
from server.billing.api import (
    OrderController,
    PaymentMethodController,
    PaymentProviderController,
    StripeWebhookController,
)
from server.catalog.api import MeterController, PriceController, ProductController
from server.customers.api import CustomerController
from server.discounts.api import CouponController
from server.oauth.api import ConnectedAccountController, OAuthProviderController
from server.organizations.api import ApiKeyController, CustomerSessionController, OrganizationController
from server.portal_settings.api import PortalSettingsController
from server.privacy.api import CustomerErasureController, DataExportController
from server.retention.api import RetentionOfferController, RetentionSettingsController
from server.subscriptions.api import CustomerSeatController, SubscriptionController
from server.tax.api import TaxRateController, TaxRegistrationController
from server.usage.api import (
    CustomerUsageController,
    EventController,
    SpendCapController,
    UsageAlertController,
    UsageThresholdController,
)
from server.wallet.api import WalletController
from server.webhooks.api import WebhookDeliveryController, WebhookEndpointController

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
