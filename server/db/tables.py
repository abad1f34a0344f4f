"""The whole domain schema, one Piccolo table per concept.

Conventions: every table is prefixed ``ss_`` so the schema can share a database; primary keys are UUIDs;
money is integer minor units beside an ISO 4217 currency; every tenant-owned row carries ``org`` so each
query can be scoped by it. Composite unique constraints and multi-column indexes live in the migrations
(``server/db/migrations``) because Piccolo columns only express single-column ones.
"""

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from server.enums import (
    Actor,
    BenefitType,
    BillingReason,
    CouponDuration,
    DataExportStatus,
    DeliveryStatus,
    EmailStatus,
    Interval,
    MagicLinkPurpose,
    MeterAggregation,
    OAuthProviderKind,
    OrderLineKind,
    OrderStatus,
    PriceKind,
    RefundDestination,
    SeatStatus,
    SessionKind,
    StaffRole,
    SubscriptionStatus,
    TaxBehavior,
    UsageAlertKind,
    WalletTransactionKind,
)


class EncryptedText(Text):
    """A secret sealed by the keyring's ``SecretBox`` (``SELFSERVE_SECRET_KEYS``). Declaring a column with
    this type is all ``selfserve rotate-secrets`` needs to re-encrypt it under the newest key."""

    @property
    def column_type(self) -> str:
        return "TEXT"


class EncryptedBytes(Bytea):
    """``EncryptedText`` kept as bytes (the sealed token's ASCII)."""

    @property
    def column_type(self) -> str:
        return "BYTEA"


def _when(*, index: bool = False) -> Timestamptz:
    """An optional moment; services always pass it from the clock."""
    return Timestamptz(null=True, default=None, index=index)


class Organization(Table, tablename="ss_organization"):
    """A merchant. Branding and portal settings are JSON validated by ``server.schemas`` structs."""

    id = UUID(primary_key=True)
    name = Varchar(length=200)
    slug = Varchar(length=64, unique=True)
    legal_address = Text(default="")
    support_email = Varchar(length=320, default="")
    default_currency = Varchar(length=3, default="USD")
    branding = JSON(default={})
    portal_settings = JSON(default={})
    allowed_origins = JSON(default=[])
    embed_secret_encrypted = EncryptedText()
    invoice_prefix = Varchar(length=16, default="INV")
    last_invoice_number = Integer(default=0)
    last_credit_note_number = Integer(default=0)
    created_at = Timestamptz()


def _org() -> ForeignKey[Organization]:
    """The owning merchant: every tenant row has one, and every query filters by it."""
    return ForeignKey(references=Organization, on_delete=OnDelete.cascade, null=False, index=True)


class ApiKey(Table, tablename="ss_api_key"):
    """A secret API key: only a keyed hash is stored; ``display_prefix`` helps people tell keys apart."""

    id = UUID(primary_key=True)
    org = _org()
    name = Varchar(length=100, default="")
    display_prefix = Varchar(length=16)
    key_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    last_used_at = _when()
    revoked_at = _when()


class Customer(Table, tablename="ss_customer"):
    id = UUID(primary_key=True)
    org = _org()
    email = Varchar(length=320, index=True)
    name = Varchar(length=200, default="")
    external_id = Varchar(length=200, null=True, default=None)
    billing_name = Varchar(length=200, default="")
    billing_email = Varchar(length=320, default="")
    company_name = Varchar(length=200, default="")
    tax_id = Varchar(length=64, default="")
    tax_id_type = Varchar(length=16, default="")
    """What ``tax_id`` is (``eu_vat``, ``gb_vat``, ...: ``server.tax.service.TAX_ID_TYPES``); empty when
    untyped, which prints on invoices but never changes the tax."""
    billing_address = JSON(default={})
    locale = Varchar(length=16, default="en")
    metadata = JSON(default={})
    created_at = Timestamptz()
    updated_at = Timestamptz()
    deleted_at = _when()
    provider_customer_ref = Varchar(length=200, default="")
    """The payment provider's customer the saved cards hang off (a Stripe ``cus_…``); empty on the sandbox."""
    deletion_requested_at = _when()
    """When the customer asked, in the portal, for their account to be deleted (the merchant approves)."""
    erased_at = _when()
    """When the personal data was erased (``server.privacy.erasure``); ``deleted_at`` is set too."""


class Meter(Table, tablename="ss_meter"):
    """Turns usage events named ``event_name`` into a number per customer and period."""

    id = UUID(primary_key=True)
    org = _org()
    name = Varchar(length=200)
    event_name = Varchar(length=100)
    unit_name = Varchar(length=50, default="units")
    aggregation = Varchar(length=10, choices=MeterAggregation, default=MeterAggregation.COUNT)
    visible_in_portal = Boolean(default=True)
    created_at = Timestamptz()
    archived_at = _when()


class Product(Table, tablename="ss_product"):
    id = UUID(primary_key=True)
    org = _org()
    name = Varchar(length=200)
    description = Text(default="")
    visible_in_portal = Boolean(default=True)
    tax_behavior = Varchar(length=12, choices=TaxBehavior, default=TaxBehavior.TAXABLE)
    metadata = JSON(default={})
    created_at = Timestamptz()
    archived_at = _when()


class Price(Table, tablename="ss_price"):
    """What a product costs per period: a base ``amount``, plus ``seat_amount`` per seat for per-seat prices.

    Metered components hang off the price as ``PriceMeter`` rows.
    """

    id = UUID(primary_key=True)
    org = _org()
    product = ForeignKey(references=Product, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=10, choices=PriceKind)
    interval = Varchar(length=10, choices=Interval)
    currency = Varchar(length=3)
    amount = BigInt(default=0)
    seat_amount = BigInt(default=0)
    min_seats = Integer(default=1)
    max_seats = Integer(null=True, default=None)
    trial_days = Integer(default=0)
    created_at = Timestamptz()
    archived_at = _when()


class PriceMeter(Table, tablename="ss_price_meter"):
    """A metered component: usage beyond ``included_units`` costs ``unit_amount`` per ``unit_batch`` units."""

    id = UUID(primary_key=True)
    org = _org()
    price = ForeignKey(references=Price, on_delete=OnDelete.cascade, index=True)
    meter = ForeignKey(references=Meter, on_delete=OnDelete.restrict, index=True)
    included_units = BigInt(default=0)
    unit_amount = BigInt(default=0)
    unit_batch = BigInt(default=1)
    usage_limit = BigInt(null=True, default=None)


class UsageEvent(Table, tablename="ss_usage_event"):
    """A raw usage event. ``dedupe_key`` is the merchant's optional event id (unique per org)."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    dedupe_key = Varchar(length=200, null=True, default=None)
    value = BigInt(default=1)
    occurred_at = Timestamptz()
    ingested_at = Timestamptz()
    metadata = JSON(default={})


class UsageRollup(Table, tablename="ss_usage_rollup"):
    """Per customer, event name and UTC day: the sum and count of events.

    Billing periods always start on a moment and advance by whole months or years, so attributing an event
    to the period containing its UTC day partitions the days exactly; views and invoices read this table
    and never scan raw events.
    """

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    day = Varchar(length=10)
    total = BigInt(default=0)
    event_count = BigInt(default=0)


class PaymentMethod(Table, tablename="ss_payment_method"):
    """A saved card; never a full number. ``is_default`` is unique per customer (partial index)."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    provider = Varchar(length=32, default="sandbox")
    provider_ref = Varchar(length=200, default="")
    brand = Varchar(length=32)
    last4 = Varchar(length=4)
    exp_month = Integer()
    exp_year = Integer()
    fingerprint = Varchar(length=64)
    is_default = Boolean(default=False)
    created_at = Timestamptz()


class Subscription(Table, tablename="ss_subscription"):
    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    product = ForeignKey(references=Product, on_delete=OnDelete.restrict)
    price = ForeignKey(references=Price, on_delete=OnDelete.restrict)
    status = Varchar(length=20, choices=SubscriptionStatus)
    currency = Varchar(length=3)
    seats = Integer(default=1)
    started_at = Timestamptz()
    current_period_start = Timestamptz()
    current_period_end = Timestamptz(index=True)
    trial_end = _when()
    cancel_at_period_end = Boolean(default=False)
    canceled_at = _when()
    ended_at = _when()
    cancellation_reason = Varchar(length=32, null=True, default=None)
    cancellation_comment = Text(default="")
    paused_at = _when()
    resumes_at = _when()
    pending_price = ForeignKey(references=Price, on_delete=OnDelete.set_null, null=True, default=None)
    pending_seats = Integer(null=True, default=None)
    default_payment_method = ForeignKey(
        references=PaymentMethod, on_delete=OnDelete.set_null, null=True, default=None
    )
    version = Integer(default=1)
    metadata = JSON(default={})
    discount = JSON(default={})
    """The discount running on it (``server.discounts.service.Discount``: the coupon's terms as redeemed and
    the renewals it still covers); empty when none."""
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Seat(Table, tablename="ss_seat"):
    """A seat of a subscription given to someone by email; ``member`` is set when claimed."""

    id = UUID(primary_key=True)
    org = _org()
    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.cascade, index=True)
    email = Varchar(length=320)
    status = Varchar(length=10, choices=SeatStatus, default=SeatStatus.PENDING)
    member = ForeignKey(references=Customer, on_delete=OnDelete.set_null, null=True, default=None)
    invitation_hash = Varchar(length=64, null=True, default=None, unique=True)
    invitation_expires_at = _when()
    metadata = JSON(default={})
    invited_at = Timestamptz()
    claimed_at = _when()
    revoked_at = _when()


class UsageAlert(Table, tablename="ss_usage_alert"):
    """A usage threshold that notifies the customer once per billing period when reached: set by the customer
    in the usage view, or by the merchant for every customer (``customer`` null). ``meter`` null watches
    every meter; ``currency`` says which subscriptions a projected-overage amount applies to."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(
        references=Customer, on_delete=OnDelete.cascade, null=True, default=None, index=True
    )
    meter = ForeignKey(references=Meter, on_delete=OnDelete.cascade, null=True, default=None)
    kind = Varchar(length=24, choices=UsageAlertKind)
    threshold = BigInt()
    currency = Varchar(length=3, null=True, default=None)
    created_at = Timestamptz()


class UsageAlertHit(Table, tablename="ss_usage_alert_hit"):
    """An alert reached by one meter of one subscription in the period starting ``period_start``; that
    quadruple is unique, so concurrent ingestion batches notify once. ``usage`` keeps the meter's figures as
    the API showed them when it was reached (``created_at``); ``announced_at`` is when the portal told the
    embedding page."""

    id = UUID(primary_key=True)
    org = _org()
    alert = ForeignKey(references=UsageAlert, on_delete=OnDelete.cascade)
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.cascade)
    meter = ForeignKey(references=Meter, on_delete=OnDelete.cascade)
    period_start = Timestamptz()
    usage = JSON(default={})
    created_at = Timestamptz()
    """When it was reached."""
    announced_at = _when()


class SpendCap(Table, tablename="ss_spend_cap"):
    """The most a subscription's usage beyond what is included may add to one period's invoice (minor units
    of the subscription's currency), set by the customer in the usage view where the merchant allows it, or
    by the merchant through the API. Renewals bill the overage up to it and no further."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.cascade, unique=True)
    amount = BigInt()
    currency = Varchar(length=3)
    set_by = Varchar(length=16, choices=Actor)
    updated_at = Timestamptz()


class SpendCapHit(Table, tablename="ss_spend_cap_hit"):
    """A spend cap reached in the period starting ``period_start``; (subscription, period_start) is unique,
    so concurrent ingestion batches send ``usage.cap_reached`` once. ``announced_at`` is when the portal told
    the embedding page."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.cascade)
    period_start = Timestamptz()
    created_at = Timestamptz()
    """When it was reached."""
    announced_at = _when()


class Coupon(Table, tablename="ss_coupon"):
    """A discount a merchant offers: ``percent_off`` (a decimal string) or ``amount_off`` (minor units of
    ``currency``), for one renewal (``once``), ``duration_periods`` renewals (``repeating``) or all of them
    (``forever``), on the ``products`` listed (empty: every product). Its money terms are fixed once redeemed;
    ``times_redeemed`` only moves through a conditional UPDATE that respects ``max_redemptions``."""

    id = UUID(primary_key=True)
    org = _org()
    name = Varchar(length=100)
    percent_off = Varchar(length=8, null=True, default=None)
    amount_off = BigInt(null=True, default=None)
    currency = Varchar(length=3, null=True, default=None)
    duration = Varchar(length=10, choices=CouponDuration)
    duration_periods = Integer(null=True, default=None)
    products = JSON(default=[])
    redeem_by = _when()
    max_redemptions = Integer(null=True, default=None)
    times_redeemed = Integer(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()


class PromotionCode(Table, tablename="ss_promotion_code"):
    """A code customers type to redeem a coupon. ``code_key`` is the code case-folded, unique per merchant
    (migration 2026-12-05T15:00:30); its own limits come on top of the coupon's."""

    id = UUID(primary_key=True)
    org = _org()
    coupon = ForeignKey(references=Coupon, on_delete=OnDelete.cascade, index=True)
    code = Varchar(length=40)
    code_key = Varchar(length=40)
    max_redemptions = Integer(null=True, default=None)
    times_redeemed = Integer(default=0)
    per_customer_limit = Integer(null=True, default=1)
    """How many times one customer may redeem this code (null: no limit)."""
    expires_at = _when()
    active = Boolean(default=True)
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()


class CouponRedemption(Table, tablename="ss_coupon_redemption"):
    """A coupon applied to a subscription (through a promotion code or not): what the limits count."""

    id = UUID(primary_key=True)
    org = _org()
    coupon = ForeignKey(references=Coupon, on_delete=OnDelete.cascade, index=True)
    promotion_code = ForeignKey(
        references=PromotionCode, on_delete=OnDelete.cascade, null=True, default=None, index=True
    )
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz()


class RetentionSettings(Table, tablename="ss_retention_settings"):
    """A merchant's retention offers (``server.retention.service``): per cancellation reason at most one
    (``offers``: reason → offer), and how often one customer may be offered anything (``window_months``)."""

    id = UUID(primary_key=True)
    org = ForeignKey(references=Organization, on_delete=OnDelete.cascade, unique=True)
    window_months = Integer(default=12)
    offers = JSON(default={})
    updated_at = Timestamptz()


class RetentionOffer(Table, tablename="ss_retention_offer"):
    """A retention offer shown to a customer in the cancel flow, and what they made of it: the once-per-window
    rule counts these. ``monthly_revenue_kept`` is set when accepted (minor units of ``currency``)."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.cascade)
    reason = Varchar(length=32)
    kind = Varchar(length=16)
    outcome = Varchar(length=16, default="")
    """Empty while undecided, then ``accepted`` or ``declined``."""
    currency = Varchar(length=3)
    monthly_revenue_kept = BigInt(default=0)
    shown_at = Timestamptz(index=True)
    decided_at = _when()


class Order(Table, tablename="ss_order"):
    """An order and its invoice. ``billing_snapshot`` freezes the customer's billing details at issue."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    subscription = ForeignKey(
        references=Subscription, on_delete=OnDelete.set_null, null=True, default=None, index=True
    )
    status = Varchar(length=20, choices=OrderStatus)
    billing_reason = Varchar(length=32, choices=BillingReason)
    currency = Varchar(length=3)
    subtotal = BigInt(default=0)
    """The lines' net amounts (before tax)."""
    tax_amount = BigInt(default=0)
    tax_lines = JSON(default=[])
    """Per tax rate: name, rate (percent), net and tax, as ``server.tax.service`` computed them."""
    reverse_charge = Boolean(default=False)
    seller_tax_number = Varchar(length=64, default="")
    """The merchant's registration in the country the order was taxed in, frozen at issue."""
    wallet_applied = BigInt(default=0)
    total = BigInt(default=0)
    refunded_amount = BigInt(default=0)
    invoice_number = Varchar(length=40, null=True, default=None)
    invoice_issued_at = _when()
    invoice_checksum = Varchar(length=64, null=True, default=None)
    billing_snapshot = JSON(default={})
    custom_field_data = JSON(default={})
    payment_method = ForeignKey(
        references=PaymentMethod, on_delete=OnDelete.set_null, null=True, default=None
    )
    payment_attempts = Integer(default=0)
    manual_payment_attempts = Integer(default=0)
    """Payment retries the customer started from the portal (capped per order)."""
    last_payment_error = Varchar(length=300, default="")
    """Why the latest charge failed, in the provider's words; empty once paid or never tried."""
    payment_ref = Varchar(length=200, default="")
    """The provider's payment of the latest charge attempt (a Stripe ``pi_…``): what a refund refers to."""
    awaits_confirmation = Boolean(default=False)
    """The bank asks the customer to authenticate the payment ``payment_ref`` (3-D Secure): the order waits
    for them in the portal and is not charged off-session meanwhile."""
    next_payment_attempt_at = _when(index=True)
    paid_at = _when()
    period_start = _when()
    period_end = _when()
    created_at = Timestamptz(index=True)


class OrderLine(Table, tablename="ss_order_line"):
    id = UUID(primary_key=True)
    org = _org()
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=16, choices=OrderLineKind)
    description = Varchar(length=300)
    quantity = BigInt(default=1)
    unit_amount = BigInt(default=0)
    amount = BigInt(default=0)
    """What the line costs as priced: the gross for a tax-inclusive price, else the net."""
    net = BigInt(default=0)
    tax_amount = BigInt(default=0)
    tax_name = Varchar(length=40, default="")
    tax_rate = Varchar(length=12, default="")
    """The percentage applied, as a decimal string ("19", "8.875"); empty when no tax applies."""
    price = ForeignKey(references=Price, on_delete=OnDelete.set_null, null=True, default=None)
    meter = ForeignKey(references=Meter, on_delete=OnDelete.set_null, null=True, default=None)
    period_start = _when()
    period_end = _when()
    position = Integer(default=0)


class InvoiceDocument(Table, tablename="ss_invoice_document"):
    """The issued PDF, kept byte for byte; its SHA-256 is also on the order."""

    id = UUID(primary_key=True)
    org = _org()
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, unique=True)
    pdf = Bytea()
    created_at = Timestamptz()


class Refund(Table, tablename="ss_refund"):
    id = UUID(primary_key=True)
    org = _org()
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    amount = BigInt()
    currency = Varchar(length=3)
    destination = Varchar(length=16, choices=RefundDestination)
    reason = Varchar(length=200, default="")
    provider_ref = Varchar(length=200, null=True, default=None)
    """The processor's refund (a Stripe ``re_…``): Stripe's news of a refund already here is not counted
    again (unique per merchant)."""
    created_at = Timestamptz()


class CreditNote(Table, tablename="ss_credit_note"):
    """The document a refund of an invoiced order issues: numbered in its own sequence per merchant,
    referencing the invoice, with the refund split into net and tax per rate like the invoice."""

    id = UUID(primary_key=True)
    org = _org()
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    refund = ForeignKey(references=Refund, on_delete=OnDelete.cascade, unique=True)
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    number = Varchar(length=40)
    currency = Varchar(length=3)
    net = BigInt(default=0)
    tax_amount = BigInt(default=0)
    total = BigInt(default=0)
    tax_lines = JSON(default=[])
    issued_at = Timestamptz()


class TaxRegistration(Table, tablename="ss_tax_registration"):
    """Where the merchant is registered to collect tax, and its number there (printed on invoices)."""

    id = UUID(primary_key=True)
    org = _org()
    country = Varchar(length=2)
    region = Varchar(length=64, default="")
    tax_number = Varchar(length=64)
    created_at = Timestamptz()


class TaxRate(Table, tablename="ss_tax_rate"):
    """A rate the merchant charges to customers in ``country`` (narrowed by ``region`` and a postal code
    prefix when set); ``inclusive`` rates are already contained in the prices."""

    id = UUID(primary_key=True)
    org = _org()
    country = Varchar(length=2)
    region = Varchar(length=64, default="")
    postal_prefix = Varchar(length=16, default="")
    percentage = Varchar(length=12)
    name = Varchar(length=40)
    inclusive = Boolean(default=False)
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Wallet(Table, tablename="ss_wallet"):
    """A customer's balance in one currency; always equal to the sum of its transactions."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    currency = Varchar(length=3)
    balance = BigInt(default=0)
    created_at = Timestamptz()


class WalletTransaction(Table, tablename="ss_wallet_transaction"):
    """A signed ledger entry. Credits keep ``remaining`` so expiry knows what is left of them."""

    id = UUID(primary_key=True)
    org = _org()
    wallet = ForeignKey(references=Wallet, on_delete=OnDelete.cascade, index=True)
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    kind = Varchar(length=16, choices=WalletTransactionKind)
    amount = BigInt()
    remaining = BigInt(null=True, default=None)
    description = Varchar(length=300, default="")
    order = ForeignKey(references=Order, on_delete=OnDelete.set_null, null=True, default=None)
    expires_at = _when(index=True)
    created_at = Timestamptz()


class DataExport(Table, tablename="ss_data_export"):
    """A ZIP of everything kept about one customer, built by the worker (``server.privacy.data_exports``).
    ``locked_until`` is the builder's lease; ``archive`` is dropped when the export expires."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    status = Varchar(length=10, choices=DataExportStatus, default=DataExportStatus.PENDING)
    progress = Integer(default=0)
    """Percent done, for the portal's progress bar."""
    requested_by = Varchar(length=10, choices=Actor)
    archive = Bytea(null=True, default=None)
    size = BigInt(default=0)
    locked_until = _when()
    created_at = Timestamptz(index=True)
    completed_at = _when()
    expires_at = _when()


class StoredFile(Table, tablename="ss_file"):
    """A file a downloadable benefit hands out through signed links."""

    id = UUID(primary_key=True)
    org = _org()
    name = Varchar(length=255)
    mime_type = Varchar(length=100, default="application/octet-stream")
    size = BigInt()
    sha256 = Varchar(length=64)
    content = Bytea()
    created_at = Timestamptz()


class Benefit(Table, tablename="ss_benefit"):
    """What a product grants; ``properties`` holds per-type settings (invite URL, file ids, instructions)."""

    id = UUID(primary_key=True)
    org = _org()
    type = Varchar(length=20, choices=BenefitType)
    description = Varchar(length=300)
    properties = JSON(default={})
    created_at = Timestamptz()
    archived_at = _when()


class ProductBenefit(Table, tablename="ss_product_benefit"):
    id = UUID(primary_key=True)
    org = _org()
    product = ForeignKey(references=Product, on_delete=OnDelete.cascade, index=True)
    benefit = ForeignKey(references=Benefit, on_delete=OnDelete.cascade, index=True)


class BenefitGrant(Table, tablename="ss_benefit_grant"):
    """A benefit given to a customer. License keys are encrypted at rest; API keys keep only a hash."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    benefit = ForeignKey(references=Benefit, on_delete=OnDelete.cascade, index=True)
    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.set_null, null=True, default=None)
    order = ForeignKey(references=Order, on_delete=OnDelete.set_null, null=True, default=None)
    secret_encrypted = EncryptedText(null=True, default=None)
    secret_hash = Varchar(length=64, null=True, default=None)
    secret_hint = Varchar(length=16, default="")
    properties = JSON(default={})
    granted_at = Timestamptz()
    revoked_at = _when()


class WebhookEndpoint(Table, tablename="ss_webhook_endpoint"):
    id = UUID(primary_key=True)
    org = _org()
    url = Varchar(length=2000)
    description = Varchar(length=200, default="")
    event_types = JSON(default=[])
    enabled = Boolean(default=True)
    secret_encrypted = EncryptedText()
    previous_secret_encrypted = EncryptedText(null=True, default=None)
    previous_secret_expires_at = _when()
    consecutive_failures = Integer(default=0)
    disabled_reason = Varchar(length=200, default="")
    created_at = Timestamptz()


class WebhookEvent(Table, tablename="ss_webhook_event"):
    """The outbox: written in the same transaction as the state change it describes."""

    id = UUID(primary_key=True)
    org = _org()
    type = Varchar(length=64)
    payload = JSON()
    created_at = Timestamptz(index=True)


class WebhookDelivery(Table, tablename="ss_webhook_delivery"):
    """One event for one endpoint; ``locked_until`` is the worker's lease so a crash loses nothing."""

    id = UUID(primary_key=True)
    org = _org()
    event = ForeignKey(references=WebhookEvent, on_delete=OnDelete.cascade, index=True)
    endpoint = ForeignKey(references=WebhookEndpoint, on_delete=OnDelete.cascade, index=True)
    status = Varchar(length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    locked_until = _when()
    last_status_code = Integer(null=True, default=None)
    last_error = Varchar(length=500, default="")
    last_duration_ms = Integer(null=True, default=None)
    delivered_at = _when()
    created_at = Timestamptz()


class WebhookAttempt(Table, tablename="ss_webhook_attempt"):
    id = UUID(primary_key=True)
    org = _org()
    delivery = ForeignKey(references=WebhookDelivery, on_delete=OnDelete.cascade, index=True)
    attempted_at = Timestamptz()
    status_code = Integer(null=True, default=None)
    duration_ms = Integer()
    error = Varchar(length=500, default="")


class MagicLink(Table, tablename="ss_magic_link"):
    """A single-use login or email-change link; only the SHA-256 of its secret is stored."""

    id = UUID(primary_key=True)
    org = _org()
    purpose = Varchar(length=16, choices=MagicLinkPurpose)
    email = Varchar(length=320)
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, null=True, default=None)
    new_email = Varchar(length=320, null=True, default=None)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = _when()
    created_at = Timestamptz()


class PortalSession(Table, tablename="ss_session"):
    """An embedded (bearer) or hosted (cookie) portal session; only a hash of its secret is stored."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=10, choices=SessionKind)
    token_hash = Varchar(length=64, unique=True)
    origin = Varchar(length=300, null=True, default=None)
    scopes = JSON(default={})
    csrf_secret = Varchar(length=64, default="")
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz(index=True)
    ended_at = _when()


class OAuthProvider(Table, tablename="ss_oauth_provider"):
    """A sign-in provider a merchant configured; (org, provider) is unique. The client secret is encrypted at
    rest; ``metadata`` keeps the endpoints OpenID Connect discovery found for the issuer."""

    id = UUID(primary_key=True)
    org = _org()
    provider = Varchar(length=16, choices=OAuthProviderKind)
    client_id = Varchar(length=500)
    client_secret_encrypted = EncryptedText()
    issuer = Varchar(length=2000, default="")
    display_name = Varchar(length=100, default="")
    metadata = JSON(default={})
    enabled = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PaymentProviderConfig(Table, tablename="ss_payment_provider"):
    """The card processor a merchant chose when it is not the sandbox; one row per org (unique). The secret
    key and the webhook signing secret are encrypted at rest; ``secret_key_hint`` (the key's last four
    characters) tells keys apart without decrypting anything."""

    id = UUID(primary_key=True)
    org = ForeignKey(references=Organization, on_delete=OnDelete.cascade, null=False, unique=True)
    provider = Varchar(length=32)
    publishable_key = Varchar(length=255)
    secret_key_encrypted = EncryptedText()
    secret_key_hint = Varchar(length=4)
    webhook_secret_encrypted = EncryptedText()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ProviderEvent(Table, tablename="ss_provider_event"):
    """A payment provider's event (a Stripe ``evt_…``) already applied; (org, event_id) is unique, so a
    replayed delivery changes nothing."""

    id = UUID(primary_key=True)
    org = _org()
    event_id = Varchar(length=255)
    event_type = Varchar(length=100)
    received_at = Timestamptz()


class ConnectedAccount(Table, tablename="ss_connected_account"):
    """A provider identity a customer connected while signed in; it signs that customer in from then on.
    (org, provider, subject) and (customer, provider) are unique."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade, index=True)
    provider = Varchar(length=16, choices=OAuthProviderKind)
    subject = Varchar(length=255)
    """The provider's stable id for the person (OpenID ``sub``, GitHub's numeric user id)."""
    email = Varchar(length=320, default="")
    """The address the provider gave when it was connected, to tell accounts apart in the list."""
    created_at = Timestamptz()
    last_used_at = _when()


class UsedToken(Table, tablename="ss_used_token"):
    """Token ids already redeemed: the database replay store (Redis replaces it when configured)."""

    id = UUID(primary_key=True)
    jti = Varchar(length=64, unique=True)
    org = _org()
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz()


class IdempotencyRecord(Table, tablename="ss_idempotency_record"):
    """A merchant POST remembered for 24 h; (org, key) is unique."""

    id = UUID(primary_key=True)
    org = _org()
    key = Varchar(length=255)
    request_hash = Varchar(length=64)
    completed = Boolean(default=False)
    response_status = Integer(null=True, default=None)
    response_body = EncryptedBytes(null=True, default=None)
    response_headers = JSON(default={})
    created_at = Timestamptz()
    expires_at = Timestamptz(index=True)


class StaffMember(Table, tablename="ss_staff"):
    """Someone of the merchant who signs in to the console (``server/console``); one per (org, email), the
    email kept in lower case."""

    id = UUID(primary_key=True)
    org = _org()
    email = Varchar(length=320)
    name = Varchar(length=200, default="")
    role = Varchar(length=10, choices=StaffRole)
    totp_secret_encrypted = EncryptedText(null=True, default=None)
    created_at = Timestamptz()
    removed_at = _when()


class StaffSession(Table, tablename="ss_staff_session"):
    """A console session: a cookie of its own (never the portal's), only a hash of its secret stored."""

    id = UUID(primary_key=True)
    org = _org()
    staff = ForeignKey(references=StaffMember, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    csrf_secret = Varchar(length=64)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz(index=True)
    ended_at = _when()


class PortalEvent(Table, tablename="ss_portal_event"):
    """Analytics and the activity log: ids and names only, never personal data."""

    id = UUID(primary_key=True)
    org = _org()
    customer = ForeignKey(
        references=Customer, on_delete=OnDelete.cascade, null=True, default=None, index=True
    )
    session = ForeignKey(references=PortalSession, on_delete=OnDelete.set_null, null=True, default=None)
    actor = Varchar(length=10, choices=Actor)
    staff = ForeignKey(references=StaffMember, on_delete=OnDelete.set_null, null=True, default=None)
    """The staff member who acted in the console (the actor is then the merchant)."""
    name = Varchar(length=64)
    outcome = Varchar(length=16, default="")
    properties = JSON(default={})
    created_at = Timestamptz(index=True)


class EmailMessage(Table, tablename="ss_email_message"):
    """Outgoing mail, queued so a request never waits on SMTP. Bodies are encrypted: they carry links."""

    id = UUID(primary_key=True)
    org = _org()
    to_address = Varchar(length=320)
    subject = Varchar(length=300)
    body_encrypted = EncryptedText()
    status = Varchar(length=10, choices=EmailStatus, default=EmailStatus.QUEUED)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    locked_until = _when()
    last_error = Varchar(length=500, default="")
    sent_at = _when()
    created_at = Timestamptz()


class CacheVersion(Table, tablename="ss_cache_version"):
    """A number per customer or merchant id that database triggers bump whenever a row a portal view shows
    changes (migration 2026-11-21T09:00): cached views are keyed by it."""

    scope = UUID(primary_key=True)
    version = BigInt(default=0)


TABLES: tuple[type[Table], ...] = (
    Organization,
    ApiKey,
    Customer,
    Meter,
    Product,
    Price,
    PriceMeter,
    UsageEvent,
    UsageRollup,
    PaymentMethod,
    Subscription,
    Seat,
    Order,
    OrderLine,
    InvoiceDocument,
    Refund,
    CreditNote,
    Wallet,
    WalletTransaction,
    StoredFile,
    Benefit,
    ProductBenefit,
    BenefitGrant,
    WebhookEndpoint,
    WebhookEvent,
    WebhookDelivery,
    WebhookAttempt,
    MagicLink,
    PortalSession,
    OAuthProvider,
    PaymentProviderConfig,
    ProviderEvent,
    ConnectedAccount,
    UsedToken,
    IdempotencyRecord,
    StaffMember,
    StaffSession,
    PortalEvent,
    EmailMessage,
    CacheVersion,
    UsageAlert,
    UsageAlertHit,
    DataExport,
    TaxRegistration,
    TaxRate,
    SpendCap,
    SpendCapHit,
    Coupon,
    PromotionCode,
    CouponRedemption,
    RetentionSettings,
    RetentionOffer,
)
