"""Closed vocabularies shared by the tables, the services and the API schemas."""

from enum import StrEnum


class PriceKind(StrEnum):
    FIXED = "fixed"
    PER_SEAT = "per_seat"
    METERED = "metered"


class Interval(StrEnum):
    MONTH = "month"
    YEAR = "year"
    ONE_TIME = "one_time"


class MeterAggregation(StrEnum):
    COUNT = "count"
    SUM = "sum"


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"


LIVE = (
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.PAUSED,
)
"""Statuses a subscription can still be changed, canceled and renewed in."""


class CancellationReason(StrEnum):
    CUSTOMER_SERVICE = "customer_service"
    LOW_QUALITY = "low_quality"
    MISSING_FEATURES = "missing_features"
    SWITCHED_SERVICE = "switched_service"
    TOO_COMPLEX = "too_complex"
    TOO_EXPENSIVE = "too_expensive"
    UNUSED = "unused"
    OTHER = "other"


class SeatStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    REVOKED = "revoked"


class OrderStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    VOID = "void"


class BillingReason(StrEnum):
    PURCHASE = "purchase"
    SUBSCRIPTION_CREATE = "subscription_create"
    SUBSCRIPTION_CYCLE = "subscription_cycle"
    SUBSCRIPTION_UPDATE = "subscription_update"


class OrderLineKind(StrEnum):
    BASE = "base"
    SEATS = "seats"
    USAGE = "usage"
    PRORATION = "proration"
    ONE_TIME = "one_time"
    DISCOUNT = "discount"


class CouponDuration(StrEnum):
    """How many renewal invoices a coupon discounts once applied to a subscription."""

    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


class RefundDestination(StrEnum):
    PAYMENT_METHOD = "payment_method"
    WALLET = "wallet"


class WalletTransactionKind(StrEnum):
    PROMOTIONAL = "promotional"
    PURCHASED = "purchased"
    USAGE = "usage"
    REFUND = "refund"
    APPLIED = "applied"
    EXPIRED = "expired"
    ADJUSTMENT = "adjustment"


class BenefitType(StrEnum):
    LICENSE_KEY = "license_key"
    DISCORD = "discord"
    DOWNLOADABLE = "downloadable"
    API_KEY = "api_key"
    CUSTOM = "custom"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SessionKind(StrEnum):
    EMBED = "embed"
    HOSTED = "hosted"


class MagicLinkPurpose(StrEnum):
    LOGIN = "login"
    EMAIL_CHANGE = "email_change"
    STAFF_LOGIN = "staff_login"
    """A merchant staff member signing in to the console (``server/console``)."""


class EmailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class DataExportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class Actor(StrEnum):
    CUSTOMER = "customer"
    MERCHANT = "merchant"
    SYSTEM = "system"


class OAuthProviderKind(StrEnum):
    """Who customers can sign in with: GitHub (OAuth 2), Google, or one OpenID Connect issuer per merchant."""

    GITHUB = "github"
    GOOGLE = "google"
    OIDC = "oidc"


class StaffRole(StrEnum):
    """What a merchant's staff member may do in the console, from least to most (``server.console.staff``)."""

    VIEWER = "viewer"
    SUPPORT = "support"
    ADMIN = "admin"
    OWNER = "owner"


class UsageAlertKind(StrEnum):
    """What a usage alert watches: a percentage of the included units or of the limit, or the projected
    cost of the overage (minor units of the subscription's currency)."""

    INCLUDED_PERCENT = "included_percent"
    LIMIT_PERCENT = "limit_percent"
    PROJECTED_OVERAGE = "projected_overage"


class TaxBehavior(StrEnum):
    """How a product's prices are taxed: ``taxable`` follows the matching tax rate (exclusive or inclusive
    as the rate says), ``inclusive``/``exclusive`` fix whether the price already contains the tax, and
    ``exempt`` is never taxed."""

    TAXABLE = "taxable"
    INCLUSIVE = "inclusive"
    EXCLUSIVE = "exclusive"
    EXEMPT = "exempt"
