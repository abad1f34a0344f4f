"""Seed the demo merchant "Acme" once, in one transaction, with real rows that keep the domain's invariants.

The billing services are not used: the seed writes a year of history directly, the way those services
would have left it (invoice numbers from the org's gapless counter, wallet balance = sum of its ledger,
usage rollups = the raw events, one default card per customer). A fixed random seed makes every demo the
same; dates are anchored on ``clock.now()``.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID

from piccolo.table import Table

from server import clock
from server.billing.proration import divide_rounding_half_away, period_boundary, prorate
from server.console.staff import add_staff
from server.db.engine import write_transaction
from server.db.enums import (
    BenefitType,
    BillingReason,
    Interval,
    MeterAggregation,
    OrderLineKind,
    OrderStatus,
    PriceKind,
    RefundDestination,
    SeatStatus,
    StaffRole,
    SubscriptionStatus,
    WalletTransactionKind,
)
from server.db.tables import (
    TABLES,
    Benefit,
    BenefitGrant,
    Customer,
    Meter,
    Order,
    OrderLine,
    Organization,
    PaymentMethod,
    Price,
    PriceMeter,
    Product,
    ProductBenefit,
    Refund,
    Seat,
    StoredFile,
    Subscription,
    UsageEvent,
    UsageRollup,
    Wallet,
    WalletTransaction,
)
from server.demo.data import PEOPLE, Person, Story
from server.schemas.portal_settings import Branding, Features, Links, PortalSettings, dump_portal_settings
from server.security.keyring import Keyring
from server.security.secrets import sha256_hex
from server.services.orgs import CreatedOrganization, create_organization

DEMO_SLUG = "acme"
DEMO_NAME = "Acme"
DEMO_ORIGINS = ("http://127.0.0.1:8001", "http://localhost:8001")
DEMO_OWNER = "owner@acme.example"
"""The demo's console owner; ``make demo`` prints a sign-in link for them."""
CURRENCY = "USD"
INVOICE_PREFIX = "ACME"
LEGAL_ADDRESS = "Acme Inc.\n548 Market St\nSan Francisco, CA 94104\nUnited States"
INSERT_BATCH = 500
DUNNING_RETRY_DAYS = (2, 7, 14, 21)
"""Days after the first failed charge on which it is retried (ANCHORS.md)."""
SEAT_INVITATION_TTL = timedelta(days=1)
RANDOM_SEED = 2026
HISTORY = timedelta(days=480)
"""How long ago Acme opened: before the oldest subscription."""

QUICKSTART_GUIDE = b"""# Acme CLI quick start

1. Install: `pip install acme-cli`
2. Sign in: `acme login` and paste the API key from your customer portal.
3. Deploy: `acme deploy ./site`

Questions? support@acme.example
"""

T = TypeVar("T", bound=Table)
Bounds = Callable[[int], datetime]
"""A subscription's k-th period boundary (0 is its start)."""

CARDS = (("visa", "4242"), ("mastercard", "4444"), ("amex", "0005"), ("visa", "1881"), ("discover", "1117"))


def invoice_number(prefix: str, number: int) -> str:
    return f"{prefix}-{number:06d}"


async def seed_demo(
    keyring: Keyring, *, slug: str = DEMO_SLUG, name: str = DEMO_NAME
) -> CreatedOrganization | None:
    """Create the demo merchant and its history; None when ``slug`` exists already (the demo reuses it)."""
    async with write_transaction():
        if await Organization.exists().where(Organization.slug == slug):
            return None
        created = await create_organization(keyring, name=name, slug=slug, origins=list(DEMO_ORIGINS))
        await add_staff(created.org.id, DEMO_OWNER, StaffRole.OWNER, name="Grace Owner")
        builder = _Builder(keyring, created.org.id, clock.now(), slug)
        builder.build()
        await builder.save(created.org)
    return created


@dataclass(frozen=True)
class _Credit:
    at: datetime
    kind: WalletTransactionKind
    amount: int
    description: str
    expires_at: datetime | None
    order_id: UUID | None


@dataclass
class _Plan:
    product: Product
    price: Price
    meters: list[tuple[PriceMeter, Meter]] = field(default_factory=list)


class _Ledger:
    """One customer's wallet, replayed in time order: credits wait until their moment, expire unused at
    theirs, and orders consume the soonest-expiring first."""

    def __init__(self, builder: _Builder, customer_id: UUID, opened_at: datetime) -> None:
        self.builder = builder
        self.customer_id = customer_id
        self.wallet = builder.add(
            Wallet(
                id=builder.uuid(),
                org=builder.org_id,
                customer=customer_id,
                currency=CURRENCY,
                created_at=opened_at,
            )
        )
        self.balance = 0
        self.scheduled: list[_Credit] = []
        self.open: list[WalletTransaction] = []

    def credit(
        self,
        at: datetime,
        kind: WalletTransactionKind,
        amount: int,
        description: str,
        *,
        expires_at: datetime | None = None,
        order_id: UUID | None = None,
    ) -> None:
        self.scheduled.append(_Credit(at, kind, amount, description, expires_at, order_id))
        self.scheduled.sort(key=lambda credit: credit.at)

    def _entry(
        self,
        at: datetime,
        kind: WalletTransactionKind,
        amount: int,
        description: str,
        *,
        expires_at: datetime | None = None,
        order_id: UUID | None = None,
    ) -> WalletTransaction:
        self.balance += amount
        return self.builder.add(
            WalletTransaction(
                id=self.builder.uuid(),
                org=self.builder.org_id,
                wallet=self.wallet.id,
                customer=self.customer_id,
                kind=kind,
                amount=amount,
                remaining=amount if amount > 0 else None,
                description=description,
                order=order_id,
                expires_at=expires_at,
                created_at=at,
            )
        )

    def _consume(self, amount: int) -> None:
        self.open.sort(key=lambda tx: (tx.expires_at or datetime.max.replace(tzinfo=UTC), tx.created_at))
        for tx in self.open:
            used = min(tx.remaining, amount)
            tx.remaining -= used
            amount -= used
        self.open = [tx for tx in self.open if tx.remaining > 0]

    def advance(self, to: datetime) -> None:
        """Apply every credit and expiry up to ``to``, in time order."""
        while True:
            credit_at = self.scheduled[0].at if self.scheduled else None
            expiring = min(
                (tx for tx in self.open if tx.expires_at is not None),
                key=lambda tx: tx.expires_at,
                default=None,
            )
            expiry_at = expiring.expires_at if expiring is not None else None
            if credit_at is not None and credit_at <= to and (expiry_at is None or credit_at <= expiry_at):
                c = self.scheduled.pop(0)
                self.open.append(
                    self._entry(
                        c.at, c.kind, c.amount, c.description, expires_at=c.expires_at, order_id=c.order_id
                    )
                )
            elif expiring is not None and expiry_at is not None and expiry_at <= to:
                left = expiring.remaining
                expiring.remaining = 0
                self.open.remove(expiring)
                self._entry(
                    expiry_at, WalletTransactionKind.EXPIRED, -left, f"Expired: {expiring.description}"
                )
            else:
                return

    def apply(self, order_id: UUID, amount: int, at: datetime) -> int:
        """What the wallet pays of an order of ``amount`` at ``at`` (recorded as an applied debit)."""
        self.advance(at)
        applied = min(self.balance, amount)
        if applied > 0:
            self._consume(applied)
            self._entry(at, WalletTransactionKind.APPLIED, -applied, "Applied to order", order_id=order_id)
        return applied

    def close(self, now: datetime) -> None:
        self.advance(now)
        self.wallet.balance = self.balance


class _Builder:
    """Collects every row in memory, then ``save`` inserts them table by table in batches."""

    def __init__(self, keyring: Keyring, org_id: UUID, now: datetime, slug: str) -> None:
        self.keyring = keyring
        self.org_id = org_id
        self.now = now.replace(microsecond=0)
        self.opened_at = self.now - HISTORY
        self.rng = random.Random(RANDOM_SEED)
        self.id_rng = random.Random(f"{RANDOM_SEED}:{slug}")
        """Row ids differ per slug (two demos can share a database); everything else is the same."""
        self.rows: dict[type[Table], list[Table]] = defaultdict(list)
        self.plans: dict[str, _Plan] = {}
        self.onboarding: _Plan
        self.benefits: dict[UUID, list[Benefit]] = {}
        """Product id → the benefits it grants."""
        self.usage: dict[tuple[UUID, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.event_counts: dict[tuple[UUID, str, str], int] = defaultdict(int)
        self.ledgers: dict[UUID, _Ledger] = {}
        self.orders: list[Order] = []

    # -- plumbing ------------------------------------------------------------------------------------

    def uuid(self) -> UUID:
        return uuid.UUID(int=self.id_rng.getrandbits(128), version=4)

    def add(self, row: T) -> T:
        self.rows[type(row)].append(row)
        return row

    def token(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    async def save(self, org: Organization) -> None:
        for table in TABLES:
            rows = self.rows.get(table, [])
            for start in range(0, len(rows), INSERT_BATCH):
                await table.insert(*rows[start : start + INSERT_BATCH])
        branding, portal_settings = dump_portal_settings(_portal_settings())
        await Organization.update(
            {
                Organization.created_at: self.opened_at,
                Organization.legal_address: LEGAL_ADDRESS,
                Organization.support_email: "support@acme.example",
                Organization.invoice_prefix: INVOICE_PREFIX,
                Organization.last_invoice_number: len(self.orders),
                Organization.branding: branding,
                Organization.portal_settings: portal_settings,
            }
        ).where(Organization.id == org.id)

    # -- the story -----------------------------------------------------------------------------------

    def build(self) -> None:
        self.catalog()
        for person in PEOPLE:
            self.person(person)
        for ledger in self.ledgers.values():
            ledger.close(self.now)
        self.rollups()
        self.number_invoices()

    def catalog(self) -> None:
        at = self.opened_at
        api = self.meter("API requests", "api_requests", "requests", at)
        storage = self.meter("Storage", "storage_gb_hours", "GB-hours", at)
        guide = self.add(
            StoredFile(
                id=self.uuid(),
                org=self.org_id,
                name="acme-cli-quickstart.md",
                mime_type="text/markdown",
                size=len(QUICKSTART_GUIDE),
                sha256=hashlib.sha256(QUICKSTART_GUIDE).hexdigest(),
                content=QUICKSTART_GUIDE,
                created_at=at,
            )
        )
        license_key = self.benefit(
            BenefitType.LICENSE_KEY, "Acme Desktop license key", {"prefix": "ACME", "activation_limit": 3}
        )
        discord = self.benefit(
            BenefitType.DISCORD,
            "Acme community on Discord",
            {"invite_url": "https://discord.com/invite/acme-demo"},
        )
        download = self.benefit(
            BenefitType.DOWNLOADABLE, "Acme CLI quick-start guide", {"file_ids": [str(guide.id)]}
        )
        api_key = self.benefit(BenefitType.API_KEY, "Acme API key", {"prefix": "acme_live"})
        priority = self.benefit(
            BenefitType.CUSTOM,
            "Priority support",
            {
                "instructions": "Write to priority@acme.example: a person answers within 4 business hours.",
                "url": "mailto:priority@acme.example",
            },
        )

        team = self.product("Team", "A shared workspace billed per seat; add or remove seats at any time.")
        self.plans["team_month"] = self.plan(
            team, PriceKind.PER_SEAT, Interval.MONTH, seat_amount=1200, max_seats=50, trial_days=14
        )
        self.plans["team_year"] = self.plan(
            team, PriceKind.PER_SEAT, Interval.YEAR, seat_amount=12000, max_seats=50
        )
        api_product = self.product(
            "API", "Pay as you grow: 100,000 requests and 10,000 GB-hours of storage included every month."
        )
        api_plan = self.plans["api_month"] = self.plan(
            api_product, PriceKind.METERED, Interval.MONTH, amount=2900
        )
        self.price_meter(api_plan, api, included=100_000, unit_amount=50, batch=1000, limit=5_000_000)
        self.price_meter(api_plan, storage, included=10_000, unit_amount=100, batch=1000)
        pro = self.product("Pro", "Everything one person needs: unlimited projects and the desktop app.")
        self.plans["pro_month"] = self.plan(pro, PriceKind.FIXED, Interval.MONTH, amount=1900, trial_days=14)
        self.plans["pro_year"] = self.plan(pro, PriceKind.FIXED, Interval.YEAR, amount=19000)
        free = self.product("Free", "One project, community support.", visible_in_portal=False)
        self.plans["free_month"] = self.plan(free, PriceKind.FIXED, Interval.MONTH, amount=0)
        legacy = self.product(
            "Starter (legacy)", "The 2025 starter plan, kept for the customers still on it."
        )
        self.plans["legacy_month"] = self.plan(legacy, PriceKind.FIXED, Interval.MONTH, amount=900)
        legacy.archived_at = self.now - timedelta(days=200)
        self.plans["legacy_month"].price.archived_at = legacy.archived_at
        onboarding = self.product(
            "Onboarding session", "A 90-minute video call to set Acme up with your team."
        )
        self.onboarding = self.plan(onboarding, PriceKind.FIXED, Interval.ONE_TIME, amount=24900)

        self.benefits = {
            team.id: [license_key, discord, download, priority],
            pro.id: [license_key, discord, download],
            api_product.id: [api_key, download],
            free.id: [discord],
            legacy.id: [license_key],
            onboarding.id: [priority],
        }
        for product_id, benefits in self.benefits.items():
            for benefit in benefits:
                self.add(
                    ProductBenefit(id=self.uuid(), org=self.org_id, product=product_id, benefit=benefit.id)
                )

    def meter(self, name: str, event_name: str, unit: str, at: datetime) -> Meter:
        return self.add(
            Meter(
                id=self.uuid(),
                org=self.org_id,
                name=name,
                event_name=event_name,
                unit_name=unit,
                aggregation=MeterAggregation.SUM,
                created_at=at,
            )
        )

    def benefit(self, kind: BenefitType, description: str, properties: dict[str, Any]) -> Benefit:
        return self.add(
            Benefit(
                id=self.uuid(),
                org=self.org_id,
                type=kind,
                description=description,
                properties=properties,
                created_at=self.opened_at,
            )
        )

    def product(self, name: str, description: str, *, visible_in_portal: bool = True) -> Product:
        return self.add(
            Product(
                id=self.uuid(),
                org=self.org_id,
                name=name,
                description=description,
                visible_in_portal=visible_in_portal,
                created_at=self.opened_at,
            )
        )

    def plan(
        self,
        product: Product,
        kind: PriceKind,
        interval: Interval,
        *,
        amount: int = 0,
        seat_amount: int = 0,
        max_seats: int | None = None,
        trial_days: int = 0,
    ) -> _Plan:
        price = self.add(
            Price(
                id=self.uuid(),
                org=self.org_id,
                product=product.id,
                kind=kind,
                interval=interval,
                currency=CURRENCY,
                amount=amount,
                seat_amount=seat_amount,
                min_seats=1,
                max_seats=max_seats,
                trial_days=trial_days,
                created_at=product.created_at,
            )
        )
        return _Plan(product, price)

    def price_meter(
        self,
        plan: _Plan,
        meter: Meter,
        *,
        included: int,
        unit_amount: int,
        batch: int,
        limit: int | None = None,
    ) -> None:
        row = self.add(
            PriceMeter(
                id=self.uuid(),
                org=self.org_id,
                price=plan.price.id,
                meter=meter.id,
                included_units=included,
                unit_amount=unit_amount,
                unit_batch=batch,
                usage_limit=limit,
            )
        )
        plan.meters.append((row, meter))

    # -- customers -----------------------------------------------------------------------------------

    def person(self, person: Person) -> None:
        story = person.story
        start = self.story_start(story) if story else self.now - timedelta(days=self.rng.randint(80, 200))
        customer = self.customer(person.name, person.email, start - timedelta(days=self.rng.randint(1, 12)))
        customer.locale = person.locale
        customer.external_id = person.external_id
        customer.company_name = person.company
        customer.tax_id = person.tax_id
        customer.billing_name = person.company or person.name
        customer.billing_email = "billing@" + person.email.split("@")[1] if person.company else person.email
        customer.billing_address = person.address.as_json()
        card = self.cards(customer, person, expired=story is not None and story.state == "past_due")
        if "wallet" in person.extras or "usage_credit" in person.extras:
            self.ledgers[customer.id] = _Ledger(self, customer.id, customer.created_at)
            self.wallet_credits(self.ledgers[customer.id], person, start)
        if story is not None:
            self.subscription(customer, person, story, start, card)
        if "onboarding" in person.extras:
            self.purchase(
                customer, card, start + timedelta(days=3) if story else self.now - timedelta(days=60)
            )

    def customer(self, name: str, email: str, at: datetime) -> Customer:
        return self.add(
            Customer(
                id=self.uuid(),
                org=self.org_id,
                email=email,
                name=name,
                billing_name=name,
                billing_email=email,
                created_at=at,
                updated_at=at,
            )
        )

    def cards(self, customer: Customer, person: Person, *, expired: bool) -> PaymentMethod | None:
        """The customer's cards (none for people who never paid); the first is the default."""
        story = person.story
        if "onboarding" not in person.extras and (story is None or story.plan == "free_month"):
            return None
        count = 2 if "second_card" in person.extras else 1
        cards = []
        for n in range(count):
            brand, last4 = self.rng.choice(CARDS)
            if expired and n == 0:
                lapsed = self.now - timedelta(days=60)
                exp_month, exp_year = lapsed.month, lapsed.year
            else:
                exp_month, exp_year = self.rng.randint(1, 12), self.now.year + self.rng.randint(1, 4)
            cards.append(
                self.add(
                    PaymentMethod(
                        id=self.uuid(),
                        org=self.org_id,
                        customer=customer.id,
                        provider="sandbox",
                        provider_ref=f"pm_sandbox_{self.rng.getrandbits(64):016x}",
                        brand=brand,
                        last4=last4,
                        exp_month=exp_month,
                        exp_year=exp_year,
                        fingerprint=f"{self.rng.getrandbits(128):032x}",
                        is_default=n == 0,
                        created_at=customer.created_at + timedelta(minutes=5 + n * 60 * 24 * 30),
                    )
                )
            )
        return cards[0]

    # -- subscriptions -------------------------------------------------------------------------------

    def story_start(self, story: Story) -> datetime:
        """When the story's subscription started: ``periods_before`` periods and ``days_in`` days ago."""
        day = (self.now - timedelta(days=story.days_in)).date()
        moment = datetime.combine(
            day, time(self.rng.randint(7, 19), self.rng.randint(0, 59), self.rng.randint(0, 59)), UTC
        )
        return period_boundary(moment, self.plans[story.plan].price.interval, -story.periods_before)

    def subscription(
        self, customer: Customer, person: Person, story: Story, start: datetime, card: PaymentMethod | None
    ) -> None:
        plan = self.plans[story.plan]
        price = plan.price

        def bound(k: int) -> datetime:
            return period_boundary(start, price.interval, k)

        sub = self.add(
            Subscription(
                id=self.uuid(),
                org=self.org_id,
                customer=customer.id,
                product=plan.product.id,
                price=price.id,
                status=SubscriptionStatus.ACTIVE,
                currency=CURRENCY,
                seats=story.seats,
                started_at=start,
                pending_seats=story.pending_seats,
                default_payment_method=card.id if card else None,
                created_at=start,
            )
        )
        last = story.ends if story.ends is not None else story.periods_before
        sub.current_period_start, sub.current_period_end = bound(last), bound(last + 1)
        sub.updated_at = sub.current_period_start
        ended_at: datetime | None = None
        if story.state == "trialing":
            sub.status = SubscriptionStatus.TRIALING
            sub.trial_end = sub.current_period_end = start + timedelta(days=price.trial_days)
        elif story.state == "past_due":
            sub.status = SubscriptionStatus.PAST_DUE
        elif story.state == "paused":
            sub.status = SubscriptionStatus.PAUSED
            sub.paused_at = sub.updated_at = self.now - timedelta(days=5)
            sub.resumes_at = bound(last + 2)
        elif story.state == "cancel_at_period_end":
            sub.canceled_at = sub.updated_at = self.now - timedelta(
                days=self.rng.randint(1, story.days_in - 1)
            )
        elif story.state == "ended":
            ended_at = bound(last + 1)
            sub.canceled_at = ended_at - timedelta(days=self.rng.randint(3, 20))
        elif story.state == "ended_now":
            ended_at = sub.canceled_at = bound(last) + timedelta(days=12)
        if story.reason is not None:
            sub.cancellation_reason = story.reason
            sub.cancellation_comment = story.comment
            sub.cancel_at_period_end = story.state != "ended_now"
        if ended_at is not None:
            assert ended_at < self.now, "an ended story must end in the past"
            sub.status = SubscriptionStatus.CANCELED
            sub.ended_at = sub.updated_at = ended_at
        assert sub.current_period_start <= self.now, "a story must have started"

        if price.kind == PriceKind.METERED:
            self.usage_events(customer.id, plan, story, start, ended_at or self.now)
        if story.state != "trialing":
            orders = self.subscription_orders(customer, sub, plan, story, card, bound)
            self.refunds(person, story, orders, ended_at, bound)
        self.seats(person, sub, ended_at)
        for benefit in self.benefits[plan.product.id]:
            self.grant(customer.id, benefit, start, subscription_id=sub.id, revoked_at=ended_at)

    def subscription_orders(
        self,
        customer: Customer,
        sub: Subscription,
        plan: _Plan,
        story: Story,
        card: PaymentMethod | None,
        bound: Bounds,
    ) -> list[Order]:
        price = plan.price
        seat_change = story.periods_before - 3 if story.seats_before is not None else None
        orders = []
        for k in range((story.ends if story.ends is not None else story.periods_before) + 1):
            seats = story.seats_before if seat_change is not None and k <= seat_change else story.seats
            lines = self.period_lines(plan, seats or 1, bound(k), bound(k + 1))
            if k > 0:
                lines += self.usage_lines(customer.id, plan, bound(k - 1), bound(k))
            reason = BillingReason.SUBSCRIPTION_CYCLE if k else BillingReason.SUBSCRIPTION_CREATE
            orders.append(
                self.order(customer.id, sub.id, reason, lines, bound(k), card, (bound(k), bound(k + 1)))
            )
            if k == seat_change and story.seats_before is not None:
                at = bound(k) + timedelta(days=10)
                added = story.seats - story.seats_before
                amount = prorate(
                    story.seats_before * price.seat_amount,
                    story.seats * price.seat_amount,
                    bound(k),
                    bound(k + 1),
                    at,
                )
                line = self.line(
                    OrderLineKind.PRORATION,
                    f"{added} more {plan.product.name} seats, {at:%b %d} to {bound(k + 1):%b %d}, prorated",
                    1,
                    amount,
                    price_id=price.id,
                    period=(at, bound(k + 1)),
                )
                self.order(
                    customer.id,
                    sub.id,
                    BillingReason.SUBSCRIPTION_UPDATE,
                    [line],
                    at,
                    card,
                    (at, bound(k + 1)),
                )
        if story.state == "past_due":
            failing = orders[-1]
            failing.status = OrderStatus.PENDING
            failing.paid_at = None
            failing.payment_attempts = 2
            failing.next_payment_attempt_at = failing.created_at + timedelta(days=DUNNING_RETRY_DAYS[1])
        return orders

    def period_lines(self, plan: _Plan, seats: int, start: datetime, end: datetime) -> list[OrderLine]:
        """The lines the subscriptions service bills for a period: the base price (even at zero, so a free
        plan's order is not empty) and the seats."""
        price, name = plan.price, plan.product.name
        lines = []
        if price.amount or not price.seat_amount:
            lines.append(
                self.line(OrderLineKind.BASE, name, 1, price.amount, price_id=price.id, period=(start, end))
            )
        if price.seat_amount:
            lines.append(
                self.line(
                    OrderLineKind.SEATS,
                    f"{name}: seats",
                    seats,
                    price.seat_amount,
                    price_id=price.id,
                    period=(start, end),
                )
            )
        return lines

    def usage_lines(self, customer_id: UUID, plan: _Plan, start: datetime, end: datetime) -> list[OrderLine]:
        """Usage of the period that just ended, billed in arrears like the subscriptions service does: the
        units beyond those included, in batches rounded half up; no line when nothing is due."""
        lines = []
        first, last = start.date().isoformat(), end.date().isoformat()
        for price_meter, meter in plan.meters:
            daily = self.usage[(customer_id, meter.event_name)]
            included = price_meter.included_units
            over = max(sum(total for day, total in daily.items() if first <= day < last) - included, 0)
            batches = divide_rounding_half_away(over, price_meter.unit_batch)
            if batches:
                lines.append(
                    self.line(
                        OrderLineKind.USAGE,
                        f"{meter.name}: {over} {meter.unit_name} beyond {included} included",
                        batches,
                        price_meter.unit_amount,
                        price_id=plan.price.id,
                        meter_id=meter.id,
                        period=(start, end),
                    )
                )
        return lines

    def line(
        self,
        kind: OrderLineKind,
        description: str,
        quantity: int,
        unit_amount: int,
        *,
        price_id: UUID | None = None,
        meter_id: UUID | None = None,
        period: tuple[datetime, datetime] | None = None,
    ) -> OrderLine:
        return OrderLine(
            id=self.uuid(),
            org=self.org_id,
            kind=kind,
            description=description,
            quantity=quantity,
            unit_amount=unit_amount,
            amount=quantity * unit_amount,
            price=price_id,
            meter=meter_id,
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
        )

    def order(
        self,
        customer_id: UUID,
        subscription_id: UUID | None,
        reason: BillingReason,
        lines: list[OrderLine],
        at: datetime,
        card: PaymentMethod | None,
        period: tuple[datetime, datetime] | None = None,
    ) -> Order:
        order_id = self.uuid()
        subtotal = sum(line.amount for line in lines)
        ledger = self.ledgers.get(customer_id)
        applied = ledger.apply(order_id, subtotal, at) if ledger else 0
        total = subtotal - applied
        order = self.add(
            Order(
                id=order_id,
                org=self.org_id,
                customer=customer_id,
                subscription=subscription_id,
                status=OrderStatus.PAID,
                billing_reason=reason,
                currency=CURRENCY,
                subtotal=subtotal,
                tax_amount=0,
                wallet_applied=applied,
                total=total,
                payment_method=card.id if card and total else None,
                payment_attempts=1 if total else 0,
                paid_at=at + timedelta(seconds=4),
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
                created_at=at,
            )
        )
        for position, line in enumerate(lines):
            line.order = order_id
            line.position = position
            self.add(line)
        self.orders.append(order)
        return order

    def refunds(
        self, person: Person, story: Story, orders: list[Order], ended_at: datetime | None, bound: Bounds
    ) -> None:
        if "refund_full" in person.extras:
            order = orders[-3]
            self.refund(
                order, order.total, RefundDestination.PAYMENT_METHOD, "Goodwill refund after an outage"
            )
        if "refund_partial" in person.extras:
            order = orders[-2]
            self.refund(
                order, order.total // 2, RefundDestination.PAYMENT_METHOD, "Account locked for two weeks"
            )
        if "refund_to_wallet" in person.extras:
            order = orders[-1]
            self.refund(
                order, min(500, order.total), RefundDestination.WALLET, "Credit for a delayed data export"
            )
        if story.state == "ended_now" and ended_at is not None:
            order = orders[-1]
            k = story.ends or 0
            unused = -prorate(order.total, 0, bound(k), bound(k + 1), ended_at)
            self.refund(
                order,
                unused,
                RefundDestination.PAYMENT_METHOD,
                "Prorated refund for unused time",
                at=ended_at,
            )

    def refund(
        self,
        order: Order,
        amount: int,
        destination: RefundDestination,
        reason: str,
        *,
        at: datetime | None = None,
    ) -> None:
        at = at or order.created_at + timedelta(days=6)
        self.add(
            Refund(
                id=self.uuid(),
                org=self.org_id,
                order=order.id,
                customer=order.customer,
                amount=amount,
                currency=order.currency,
                destination=destination,
                reason=reason,
                created_at=at,
            )
        )
        order.refunded_amount += amount
        order.status = (
            OrderStatus.REFUNDED if order.refunded_amount == order.total else OrderStatus.PARTIALLY_REFUNDED
        )
        if destination == RefundDestination.WALLET:
            self.ledgers[order.customer].credit(
                at, WalletTransactionKind.REFUND, amount, f"Refund: {reason}", order_id=order.id
            )

    def purchase(self, customer: Customer, card: PaymentMethod | None, at: datetime) -> None:
        price = self.onboarding.price
        line = self.line(
            OrderLineKind.ONE_TIME, self.onboarding.product.name, 1, price.amount, price_id=price.id
        )
        order = self.order(customer.id, None, BillingReason.PURCHASE, [line], at, card)
        for benefit in self.benefits[self.onboarding.product.id]:
            self.grant(customer.id, benefit, at, order_id=order.id)

    def seats(self, person: Person, sub: Subscription, ended_at: datetime | None) -> None:
        """Seats given by email: claimed ones by people who became customers, the last ``revoked`` taken
        back 20 days ago, the rest invited in the last hours; all revoked when the subscription ended."""
        for index, (name, email) in enumerate(person.members):
            lost = index >= len(person.members) - person.revoked
            seat = self.add(
                Seat(
                    id=self.uuid(),
                    org=self.org_id,
                    subscription=sub.id,
                    email=email,
                    invited_at=sub.started_at + timedelta(hours=2 + index),
                )
            )
            if index < person.claimed or lost:
                seat.status = SeatStatus.CLAIMED
                seat.claimed_at = seat.invited_at + timedelta(hours=self.rng.randint(1, 20))
                seat.member = self.customer(name, email, seat.claimed_at).id
            else:
                seat.invited_at = self.now - timedelta(hours=self.rng.randint(2, 10))
                seat.invitation_hash = sha256_hex(f"{self.id_rng.getrandbits(256):064x}")
                seat.invitation_expires_at = seat.invited_at + SEAT_INVITATION_TTL
            revoked_at = ended_at or (self.now - timedelta(days=20) if lost else None)
            if revoked_at is not None:
                seat.status = SeatStatus.REVOKED
                seat.revoked_at = revoked_at
                seat.invitation_hash = None

    def grant(
        self,
        customer_id: UUID,
        benefit: Benefit,
        at: datetime,
        *,
        subscription_id: UUID | None = None,
        order_id: UUID | None = None,
        revoked_at: datetime | None = None,
    ) -> None:
        grant = self.add(
            BenefitGrant(
                id=self.uuid(),
                org=self.org_id,
                customer=customer_id,
                benefit=benefit.id,
                subscription=subscription_id,
                order=order_id,
                granted_at=at + timedelta(seconds=10),
                revoked_at=revoked_at,
            )
        )
        if benefit.type == BenefitType.LICENSE_KEY:
            key = "ACME-" + "-".join(self.token("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 5) for _ in range(4))
            grant.secret_encrypted = self.keyring.box.encrypt(key)
            grant.secret_hint = key[-4:]
            grant.properties = {"activations": self.rng.randint(0, 3), "activation_limit": 3}
        elif benefit.type == BenefitType.API_KEY:
            key = "acme_live_" + self.token("abcdefghijkmnopqrstuvwxyz0123456789", 32)
            grant.secret_hash = sha256_hex(key)
            grant.secret_hint = key[-4:]

    # -- usage and wallets ---------------------------------------------------------------------------

    def usage_events(
        self, customer_id: UUID, plan: _Plan, story: Story, start: datetime, end: datetime
    ) -> None:
        """Three API batches a day and one storage reading, growing over the year and quieter at weekends."""
        requests_per_day, gigabytes = story.usage_per_day
        span = (end - start).total_seconds()
        day = start.date()
        while (midnight := datetime.combine(day, time(), UTC)) <= end:
            weekday = 0.55 if day.weekday() >= 5 else 1.0
            growth = 0.65 + 0.35 * (midnight - start).total_seconds() / span
            for _meter_link, meter in plan.meters:
                readings = 3 if meter.event_name == "api_requests" else 1
                per_day = requests_per_day * weekday if readings == 3 else gigabytes * 24
                for _ in range(readings):
                    moment = midnight + timedelta(seconds=self.rng.randint(0, 86_399))
                    if not start <= moment <= end:
                        continue
                    value = max(1, round(per_day * growth / readings * self.rng.uniform(0.8, 1.2)))
                    self.usage_event(customer_id, meter.event_name, value, moment)
            day += timedelta(days=1)

    def usage_event(self, customer_id: UUID, name: str, value: int, moment: datetime) -> None:
        day = moment.date().isoformat()
        self.usage[(customer_id, name)][day] += value
        self.event_counts[(customer_id, name, day)] += 1
        self.add(
            UsageEvent(
                id=self.uuid(),
                org=self.org_id,
                customer=customer_id,
                name=name,
                dedupe_key=f"evt_{self.rng.getrandbits(96):024x}",
                value=value,
                occurred_at=moment,
                ingested_at=moment + timedelta(seconds=self.rng.randint(1, 90)),
            )
        )

    def rollups(self) -> None:
        for (customer_id, name), daily in self.usage.items():
            for day, total in sorted(daily.items()):
                self.add(
                    UsageRollup(
                        id=self.uuid(),
                        org=self.org_id,
                        customer=customer_id,
                        name=name,
                        day=day,
                        total=total,
                        event_count=self.event_counts[(customer_id, name, day)],
                    )
                )

    def wallet_credits(self, ledger: _Ledger, person: Person, start: datetime) -> None:
        """Credits given, bought and expiring; scheduled before the orders so the wallet pays them in turn."""
        soon = self.now + timedelta(days=5)
        if "wallet" in person.extras:
            ledger.credit(
                start + timedelta(hours=1), WalletTransactionKind.PROMOTIONAL, 2000, "Welcome credit"
            )
            spring = period_boundary(start, Interval.MONTH, 4) + timedelta(days=3)
            ledger.credit(
                spring,
                WalletTransactionKind.PROMOTIONAL,
                1500,
                "Spring promotion",
                expires_at=spring + timedelta(days=14),
            )
            topup = period_boundary(start, Interval.MONTH, 6) + timedelta(days=5)
            ledger.credit(topup, WalletTransactionKind.PURCHASED, 5000, "Top-up")
            ledger.credit(
                self.now - timedelta(days=10),
                WalletTransactionKind.PROMOTIONAL,
                1000,
                "Loyalty credit",
                expires_at=soon,
            )
        if "usage_credit" in person.extras:
            ledger.credit(
                start + timedelta(days=150), WalletTransactionKind.USAGE, 5000, "Usage credits: launch week"
            )
            ledger.credit(
                self.now - timedelta(days=10),
                WalletTransactionKind.USAGE,
                2500,
                "Usage credits: storage beta",
                expires_at=soon,
            )

    def number_invoices(self) -> None:
        """Every order gets the next number of the org's gapless counter, in the order they were created."""
        self.orders.sort(key=lambda order: order.created_at)
        for number, order in enumerate(self.orders, start=1):
            order.invoice_number = invoice_number(INVOICE_PREFIX, number)


def _portal_settings() -> PortalSettings:
    return PortalSettings(
        branding=Branding(primary_color="#0f766e"),
        welcome_message="Manage your Acme plan, invoices, usage and team seats here.",
        links=Links(
            support_url="https://acme.example/support",
            terms_url="https://acme.example/terms",
            privacy_url="https://acme.example/privacy",
        ),
        features=Features(pause=True),
    )
