"""Seed the demo merchant "Acme" once: a year and a half of its history played through the same services a
merchant's data goes through, on a clock moved from one moment to the next.

Customers sign up, save cards with the sandbox provider's test numbers, subscribe, are charged at every
renewal, change seats, switch plans, pause, cancel and get refunds; usage is ingested day by day, credit is
given, spent and expires; seats are given, claimed and taken back. Between those moments the jobs the
worker runs (renewals, dunning retries, credit expiry) run for Acme when they come due, so a card that
expires makes a renewal fail and leaves its subscription past due, as it would in production.

The whole story runs in one transaction: a demo is seeded completely or not at all. A fixed random seed makes
every demo the same for the same moment; dates are anchored on ``clock.now()``.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.benefits import files, grants
from server.billing import orders, payments
from server.catalog import service as catalog
from server.catalog.schemas import BenefitCreate, MeterCreate, ProductCreate
from server.clock import FrozenClock, use_clock
from server.console.staff import add_staff
from server.customers import service as customers
from server.customers.schemas import CustomerCreate
from server.db.engine import write_transaction
from server.db.tables import Order, Organization, Price, Subscription, WalletTransaction
from server.demo.data import PEOPLE, Person, Story
from server.discounts import service as discounts
from server.enums import (
    LIVE,
    BenefitType,
    Interval,
    MeterAggregation,
    OrderStatus,
    StaffRole,
    WalletTransactionKind,
)
from server.metering import service as usage
from server.metering.service import UsageEventIn
from server.organizations.service import CreatedOrganization, create_organization
from server.portal_settings import service as portal_settings
from server.portal_settings.schemas import PortalSettingsPatch
from server.proration import period_boundary
from server.retention import service as retention
from server.retention.schemas import RetentionSettingsIn
from server.security.keyring import Keyring
from server.subscriptions import seats
from server.subscriptions import service as subscriptions
from server.wallet import service as wallet

DEMO_SLUG = "acme"
DEMO_NAME = "Acme"
DEMO_ORIGINS = ("http://127.0.0.1:8001", "http://localhost:8001")
DEMO_OWNER = "owner@acme.example"
"""The demo's console owner; ``make demo`` prints a sign-in link for them."""
CURRENCY = "USD"
INVOICE_PREFIX = "ACME"
LEGAL_ADDRESS = "Acme Inc.\n548 Market St\nSan Francisco, CA 94104\nUnited States"
RANDOM_SEED = 2026
HISTORY = timedelta(days=480)
"""How long ago Acme opened: before the oldest subscription."""

QUICKSTART_GUIDE = b"""# Acme CLI quick start

1. Install: `pip install acme-cli`
2. Sign in: `acme login` and paste the API key from your customer portal.
3. Deploy: `acme deploy ./site`

Questions? support@acme.example
"""

CARDS = ("4242424242424242", "5555555555554444", "378282246310005", "6011111111111117", "2223003122003222")
"""Sandbox test cards that are always charged successfully."""
EXPIRING_CARD = "4000056655665556"
"""The past-due customer's card: it expires between two renewals, so the second one is declined."""
API_KEY_HOLDERS = frozenset(
    p.email for p in PEOPLE if p.story and p.story.plan == "api_month" and p.story.state == "active"
)
"""Customers who generated the API key their plan includes (the others still can, in the portal)."""


def invoice_number(prefix: str, number: int) -> str:
    """How the orders service numbers invoices (``orders._next_invoice_number``)."""
    return f"{prefix}-{number:06d}"


async def seed_demo(
    keyring: Keyring, *, slug: str = DEMO_SLUG, name: str = DEMO_NAME
) -> CreatedOrganization | None:
    """Create the demo merchant and its history; None when ``slug`` exists already (the demo reuses it)."""
    async with write_transaction():
        if await Organization.exists().where(Organization.slug == slug):
            return None
        now = clock.now().replace(microsecond=0)
        frozen = FrozenClock(now - HISTORY)
        with use_clock(frozen):
            created = await create_organization(
                keyring,
                name=name,
                slug=slug,
                origins=list(DEMO_ORIGINS),
                legal_address=LEGAL_ADDRESS,
                support_email="support@acme.example",
                invoice_prefix=INVOICE_PREFIX,
            )
            await add_staff(created.org.id, DEMO_OWNER, StaffRole.OWNER, name="Grace Owner")
            story = _Story(keyring, created.org.id, now, frozen)
            await story.open_shop()
            for person in PEOPLE:
                story.person(person)
            await story.play()
    return created


@dataclass(order=True, frozen=True)
class _Step:
    at: datetime
    seq: int
    act: Callable[[], Awaitable[Any]] = field(compare=False)
    moves_jobs: bool = field(default=False, compare=False)
    """The step can change when a job next comes due (it starts, changes or ends a subscription, charges
    or gives credit)."""


@dataclass(frozen=True)
class _Plan:
    product_id: UUID
    price_id: UUID
    interval: Interval
    benefit_types: frozenset[str] = frozenset()


class _Story:
    """Schedules what happens to whom and when, then plays it in time order with the jobs in between."""

    def __init__(self, keyring: Keyring, org_id: UUID, now: datetime, frozen: FrozenClock) -> None:
        self.keyring = keyring
        self.org_id = org_id
        self.now = now
        self.clock = frozen
        self.rng = random.Random(RANDOM_SEED)
        self.steps: list[_Step] = []
        self.plans: dict[str, _Plan] = {}
        self.customers: dict[str, UUID] = {}
        """Email → customer id, once they signed up."""
        self.subscriptions: dict[str, UUID] = {}
        """Email of the subscriber → subscription id."""
        self.claim_tokens: dict[str, str] = {}
        self.usage: dict[datetime, list[tuple[str, UsageEventIn]]] = {}
        """When a batch of usage is ingested → (customer email, event) of the usage in it."""
        self.due: dict[str, datetime] = {}
        """When each kind of job (renewal, retry, expiry) next comes due, as of the last step that could
        change it."""

    def at(self, moment: datetime, act: Callable[[], Awaitable[Any]], *, moves_jobs: bool = False) -> None:
        assert moment <= self.now, "the story cannot happen in the future"
        self.steps.append(_Step(moment, len(self.steps), act, moves_jobs))

    # -- playing -----------------------------------------------------------------------------------------

    async def play(self) -> None:
        for moment, events in self.usage.items():
            self.at(moment, functools.partial(self._ingest, events))
        for step in sorted(self.steps):
            await self._jobs_until(step.at)
            self.clock.set(step.at)
            await step.act()
            if step.moves_jobs:
                await self._refresh_due()
        await self._jobs_until(self.now)
        self.clock.set(self.now)
        await self._customers_open_their_benefits()

    async def _ingest(self, events: list[tuple[str, UsageEventIn]]) -> None:
        addressed = [
            msgspec.structs.replace(event, customer_id=self.customers[email]) for email, event in events
        ]
        await usage.ingest_events(self.org_id, addressed)

    async def _jobs_until(self, moment: datetime) -> None:
        """Run Acme's due renewals, dunning retries and credit expiries, each at the moment it comes due."""
        while self.due and (due := min(self.due.values())) <= moment:
            self.clock.set(max(due, self.clock.now()))
            if self.due.get("renewal", moment) <= due:
                for row in await Subscription.select(Subscription.id).where(
                    Subscription.org == self.org_id,
                    Subscription.status.is_in(list(LIVE)),
                    Subscription.current_period_end <= due,
                ):
                    await subscriptions.renew_subscription(self.org_id, row["id"])
            if self.due.get("retry", moment) <= due:
                for row in await Order.select(Order.id).where(
                    Order.org == self.org_id,
                    Order.status == OrderStatus.PENDING,
                    Order.payment_attempts > 0,
                    Order.next_payment_attempt_at <= due,
                ):
                    await orders.attempt_payment(self.org_id, row["id"])
            if self.due.get("expiry", moment) <= due:
                await wallet.expire_credits(org_id=self.org_id)
            await self._refresh_due()

    async def _refresh_due(self) -> None:
        """When each kind of job next comes due for Acme."""
        renewal = (
            await Subscription.select(Subscription.current_period_end.as_alias("at"))
            .where(Subscription.org == self.org_id, Subscription.status.is_in(list(LIVE)))
            .order_by(Subscription.current_period_end)
            .first()
        )
        retry = (
            await Order.select(Order.next_payment_attempt_at.as_alias("at"))
            .where(
                Order.org == self.org_id,
                Order.status == OrderStatus.PENDING,
                Order.payment_attempts > 0,
                Order.next_payment_attempt_at.is_not_null(),
            )
            .order_by(Order.next_payment_attempt_at)
            .first()
        )
        expiry = (
            await WalletTransaction.select(WalletTransaction.expires_at.as_alias("at"))
            .where(
                WalletTransaction.org == self.org_id,
                WalletTransaction.remaining > 0,
                WalletTransaction.expires_at.is_not_null(),
            )
            .order_by(WalletTransaction.expires_at)
            .first()
        )
        rows = {"renewal": renewal, "retry": retry, "expiry": expiry}
        self.due = {kind: row["at"] for kind, row in rows.items() if row is not None}

    async def _customers_open_their_benefits(self) -> None:
        """Today: customers with a live subscription have looked at their portal (license keys are issued
        on first view), and those on the API plan who are in good standing generated their API key."""
        for email, customer_id in self.customers.items():
            for grant in await grants.list_grants(self.org_id, customer_id, keyring=self.keyring):
                if grant.type == BenefitType.API_KEY and email in API_KEY_HOLDERS:
                    await grants.regenerate_api_key(self.org_id, grant.id, customer_id=customer_id)

    # -- the shop ----------------------------------------------------------------------------------------

    async def open_shop(self) -> None:
        """Acme's portal settings, meters, benefits and products, on the day it opened."""
        await portal_settings.update_portal_settings(
            self.org_id,
            msgspec.convert(
                {
                    "branding": {"primary_color": "#0f766e"},
                    "welcome_message": "Manage your Acme plan, invoices, usage and team seats here.",
                    "links": {
                        "support_url": "https://acme.example/support",
                        "terms_url": "https://acme.example/terms",
                        "privacy_url": "https://acme.example/privacy",
                    },
                    "features": {"pause": True},
                },
                PortalSettingsPatch,
            ),
        )
        api, storage = [
            await catalog.create_meter(
                self.org_id,
                MeterCreate(name=name, event_name=event, unit_name=unit, aggregation=MeterAggregation.SUM),
            )
            for name, event, unit in (
                ("API requests", "api_requests", "requests"),
                ("Storage", "storage_gb_hours", "GB-hours"),
            )
        ]
        guide = await files.store_file(
            self.org_id, name="acme-cli-quickstart.md", mime_type="text/markdown", content=QUICKSTART_GUIDE
        )
        benefit = self._benefit
        license_key = await benefit(
            "license_key", "Acme Desktop license key", prefix="ACME", activation_limit=3
        )
        discord = await benefit(
            "discord", "Acme community on Discord", invite_url="https://discord.com/invite/acme-demo"
        )
        download = await benefit("downloadable", "Acme CLI quick-start guide", file_ids=[str(guide.id)])
        api_key = await benefit("api_key", "Acme API key", prefix="acme_live")
        priority = await benefit(
            "custom",
            "Priority support",
            instructions="Write to priority@acme.example: a person answers within 4 business hours.",
            url="mailto:priority@acme.example",
        )
        team = [license_key, discord, download, priority]
        await self._product(
            "Team",
            "A shared workspace billed per seat; add or remove seats at any time.",
            team,
            team_month={
                "kind": "per_seat",
                "interval": "month",
                "seat_amount": 1200,
                "max_seats": 50,
                "trial_days": 14,
            },
            team_year={"kind": "per_seat", "interval": "year", "seat_amount": 12000, "max_seats": 50},
        )
        await self._product(
            "API",
            "Pay as you grow: 100,000 requests and 10,000 GB-hours of storage included every month.",
            [api_key, download],
            api_month={
                "kind": "metered",
                "interval": "month",
                "amount": 2900,
                "meters": [
                    {
                        "meter_id": str(api.id),
                        "included_units": 100_000,
                        "unit_amount": 50,
                        "unit_batch": 1000,
                        "usage_limit": 5_000_000,
                    },
                    {
                        "meter_id": str(storage.id),
                        "included_units": 10_000,
                        "unit_amount": 100,
                        "unit_batch": 1000,
                    },
                ],
            },
        )
        await self._product(
            "Pro",
            "Everything one person needs: unlimited projects and the desktop app.",
            [license_key, discord, download],
            pro_month={"kind": "fixed", "interval": "month", "amount": 1900, "trial_days": 14},
            pro_year={"kind": "fixed", "interval": "year", "amount": 19000},
        )
        await self._product(
            "Free",
            "One project, community support.",
            [discord],
            visible_in_portal=False,
            free_month={"kind": "fixed", "interval": "month", "amount": 0},
        )
        await self._product(
            "Starter (legacy)",
            "The 2025 starter plan, kept for the customers still on it.",
            [license_key],
            legacy_month={"kind": "fixed", "interval": "month", "amount": 900},
        )
        await self._product(
            "Onboarding session",
            "A 90-minute video call to set Acme up with your team.",
            [priority],
            onboarding={"kind": "fixed", "interval": "one_time", "amount": 24900},
        )
        self.at(self.now - timedelta(days=200), self._retire_legacy_plan)
        await self._retention_offers()

    async def _retention_offers(self) -> None:
        """Two answers in the cancel flow: a break for who does not use it enough, a discount for who misses
        features. A reason without an offer (too expensive, for one) goes straight to the review."""
        coupon = await discounts.create_coupon(
            self.org_id, name="Stay with Acme", percent_off=30, duration="repeating", duration_periods=3
        )
        offers = {
            "unused": {
                "kind": "pause",
                "pause_periods": 1,
                "message": "Take a month off instead: nothing is charged and your projects stay.",
            },
            "missing_features": {
                "kind": "coupon",
                "coupon_id": str(coupon.id),
                "message": "We ship every month. Stay at 30% off while we build what you miss.",
            },
        }
        await retention.put_settings(
            self.org_id, msgspec.convert({"window_months": 12, "offers": offers}, RetentionSettingsIn)
        )

    async def _benefit(self, kind: str, description: str, **properties: Any) -> UUID:
        created = await catalog.create_benefit(
            self.org_id,
            msgspec.convert(
                {"type": kind, "description": description, "properties": properties}, BenefitCreate
            ),
        )
        return UUID(str(created.id))

    async def _product(
        self,
        name: str,
        description: str,
        benefits: list[UUID],
        *,
        visible_in_portal: bool = True,
        **prices: dict[str, Any],
    ) -> None:
        product = await catalog.create_product(
            self.org_id,
            msgspec.convert(
                {
                    "name": name,
                    "description": description,
                    "visible_in_portal": visible_in_portal,
                    "prices": [{"currency": CURRENCY, **price} for price in prices.values()],
                    "benefit_ids": [str(b) for b in benefits],
                },
                ProductCreate,
            ),
        )
        created = await Price.select(Price.id, Price.interval).where(Price.product == product.id)
        by_interval = {row["interval"]: UUID(str(row["id"])) for row in created}
        for key, price in prices.items():
            self.plans[key] = _Plan(
                UUID(str(product.id)), by_interval[price["interval"]], Interval(price["interval"])
            )

    async def _retire_legacy_plan(self) -> None:
        plan = self.plans["legacy_month"]
        await catalog.archive_price(self.org_id, plan.price_id)
        await catalog.archive_product(self.org_id, plan.product_id)

    # -- customers -----------------------------------------------------------------------------------------

    def person(self, person: Person) -> None:
        story = person.story
        start = self.story_start(story) if story else self.now - timedelta(days=self.rng.randint(80, 200))
        joined = start - timedelta(days=self.rng.randint(1, 12))
        self.at(joined, functools.partial(self._sign_up, person))
        self.cards(person, joined, start)
        self.wallet_credits(person, start)
        if story is not None:
            self.subscription(person, story, start)
        if "onboarding" in person.extras:
            bought = start + timedelta(days=3) if story else self.now - timedelta(days=60)
            self.at(
                bought,
                functools.partial(self._purchase, person.email, self.plans["onboarding"]),
                moves_jobs=True,
            )

    async def _sign_up(self, person: Person) -> None:
        data = {
            "email": person.email,
            "name": person.name,
            "external_id": person.external_id,
            "locale": person.locale,
            "company_name": person.company,
            "tax_id": person.tax_id,
            "billing_name": person.company or person.name,
            "billing_email": "billing@" + person.email.split("@")[1] if person.company else person.email,
            "billing_address": person.address.as_json(),
        }
        customer = await customers.create_customer(self.org_id, msgspec.convert(data, CustomerCreate))
        self.customers[person.email] = UUID(str(customer.id))

    def cards(self, person: Person, joined: datetime, start: datetime) -> None:
        """The customer's cards (none for people who never paid); the first is the default."""
        story = person.story
        if "onboarding" not in person.extras and (story is None or story.plan == "free_month"):
            return
        for n in range(2 if "second_card" in person.extras else 1):
            number = self.rng.choice(CARDS)
            exp_month, exp_year = self.rng.randint(1, 12), self.now.year + self.rng.randint(1, 4)
            if n == 0 and story is not None and story.state == "past_due":
                number = EXPIRING_CARD
                last_renewal = period_boundary(start, Interval.MONTH, story.periods_before)
                lapsed = last_renewal.replace(day=1) - timedelta(days=1)
                exp_month, exp_year = lapsed.month, lapsed.year
            saved = joined + timedelta(minutes=5, days=30 * n)
            card = {"number": number, "exp_month": exp_month, "exp_year": exp_year, "default": n == 0}
            self.at(saved, functools.partial(self._add_card, person.email, card))

    async def _add_card(self, email: str, card: dict[str, Any]) -> None:
        number = card["number"]
        await payments.add_payment_method(
            self.org_id,
            self.customers[email],
            keyring=self.keyring,
            number=number,
            exp_month=card["exp_month"],
            exp_year=card["exp_year"],
            cvc="1234" if number.startswith("37") else "123",
            make_default=card["default"],
        )

    async def _purchase(self, email: str, plan: _Plan) -> None:
        await orders.purchase(self.org_id, self.customers[email], plan.price_id)

    def wallet_credits(self, person: Person, start: datetime) -> None:
        """Credits given, bought and expiring."""
        soon = self.now + timedelta(days=5)
        credits = []
        if "wallet" in person.extras:
            spring = period_boundary(start, Interval.MONTH, 4) + timedelta(days=3)
            credits += [
                (start + timedelta(hours=1), WalletTransactionKind.PROMOTIONAL, 2000, "Welcome credit", None),
                (
                    spring,
                    WalletTransactionKind.PROMOTIONAL,
                    1500,
                    "Spring promotion",
                    spring + timedelta(days=14),
                ),
                (
                    period_boundary(start, Interval.MONTH, 6) + timedelta(days=5),
                    WalletTransactionKind.PURCHASED,
                    5000,
                    "Top-up",
                    None,
                ),
                (
                    self.now - timedelta(days=10),
                    WalletTransactionKind.PROMOTIONAL,
                    1000,
                    "Loyalty credit",
                    soon,
                ),
            ]
        if "usage_credit" in person.extras:
            credits += [
                (
                    start + timedelta(days=150),
                    WalletTransactionKind.USAGE,
                    5000,
                    "Usage credits: launch week",
                    None,
                ),
                (
                    self.now - timedelta(days=10),
                    WalletTransactionKind.USAGE,
                    2500,
                    "Usage credits: storage beta",
                    soon,
                ),
            ]
        for at, kind, amount, description, expires_at in credits:
            self.at(
                at,
                functools.partial(self._credit, person.email, kind, amount, description, expires_at),
                moves_jobs=True,
            )

    async def _credit(
        self, email: str, kind: str, amount: int, description: str, expires_at: datetime | None
    ) -> None:
        await wallet.credit(
            self.org_id, self.customers[email], amount, CURRENCY, kind, description, expires_at
        )

    # -- subscriptions -----------------------------------------------------------------------------------

    def story_start(self, story: Story) -> datetime:
        """When the story's subscription started: ``periods_before`` periods and ``days_in`` days ago."""
        day = (self.now - timedelta(days=story.days_in)).date()
        moment = datetime.combine(
            day, time(self.rng.randint(7, 19), self.rng.randint(0, 59), self.rng.randint(0, 59)), UTC
        )
        return period_boundary(moment, self.plans[story.plan].interval, -story.periods_before)

    def subscription(self, person: Person, story: Story, start: datetime) -> None:
        plan = self.plans[story.plan]
        email = person.email

        def bound(k: int) -> datetime:
            return period_boundary(start, plan.interval, k)

        trial = story.state == "trialing"
        first_seats = story.seats_before or story.seats
        self.at(start, functools.partial(self._subscribe, email, plan, first_seats, trial), moves_jobs=True)
        grown_at = None
        if story.seats_before is not None:
            grown_at = bound(story.periods_before - 3) + timedelta(days=10)
            grow = functools.partial(self._call, subscriptions.change_seats, email, story.seats)
            self.at(grown_at, grow, moves_jobs=True)
        if plan.interval == Interval.MONTH and story.usage_per_day != (0, 0):
            end = bound((story.ends or 0) + 1) if story.state in ("ended", "ended_now") else self.now
            self.usage_events(email, story, start, end, bound)
        self.seat_members(person, start, grown_at)
        self.refunds(person, story, bound)
        self.ending(email, story, bound)

    async def _subscribe(self, email: str, plan: _Plan, seats: int, trial: bool) -> None:
        subscription = await subscriptions.create_subscription(
            self.org_id, self.customers[email], plan.price_id, seats=seats, trial_days=None if trial else 0
        )
        self.subscriptions[email] = UUID(str(subscription.id))

    async def _call(
        self, service: Callable[..., Awaitable[Any]], email: str, *args: Any, **kwargs: Any
    ) -> None:
        """``service(org, subscription, *args, **kwargs)`` on the subscription of ``email``."""
        await service(self.org_id, self.subscriptions[email], *args, **kwargs)

    def ending(self, email: str, story: Story, bound: Callable[[int], datetime]) -> None:
        """How the story goes on: paused, set to cancel, ended (at a period's end or at once with a refund of
        the unused time), or a plan change scheduled for the period end."""
        cancel = functools.partial(
            self._call,
            subscriptions.cancel_subscription,
            email,
            reason=story.reason,
            comment=story.comment,
        )
        ends = story.ends or 0
        if story.state == "paused":
            pause = functools.partial(self._call, subscriptions.pause_subscription, email)
            self.at(self.now - timedelta(days=5), pause, moves_jobs=True)
        elif story.state == "cancel_at_period_end":
            self.at(
                self.now - timedelta(days=self.rng.randint(1, story.days_in - 1)), cancel, moves_jobs=True
            )
        elif story.state == "ended":
            self.at(bound(ends + 1) - timedelta(days=self.rng.randint(3, 20)), cancel, moves_jobs=True)
        elif story.state == "ended_now":
            now = functools.partial(cancel, at_period_end=False, refund="payment_method")
            self.at(bound(ends) + timedelta(days=12), now, moves_jobs=True)
        if story.switch_to is not None:
            price_id = self.plans[story.switch_to].price_id
            switch = functools.partial(self._call, subscriptions.change_plan, email, price_id)
            self.at(self.now - timedelta(days=2), switch, moves_jobs=True)

    def refunds(self, person: Person, story: Story, bound: Callable[[int], datetime]) -> None:
        """Refunds the merchant gave, six days after the order of a period (counted back from today's)."""
        k = story.periods_before
        wanted = {
            "refund_full": (k - 2, "full", "payment_method", "Goodwill refund after an outage"),
            "refund_partial": (k - 1, "half", "payment_method", "Account locked for two weeks"),
            "refund_to_wallet": (k, "up_to_500", "wallet", "Credit for a delayed data export"),
        }
        for extra, (period, share, destination, reason) in wanted.items():
            if extra in person.extras:
                refund = functools.partial(
                    self._refund, person.email, bound(period), share, destination, reason
                )
                self.at(bound(period) + timedelta(days=6), refund)

    async def _refund(
        self, email: str, period_start: datetime, share: str, destination: str, reason: str
    ) -> None:
        order = (
            await Order.objects()
            .where(Order.subscription == self.subscriptions[email], Order.period_start == period_start)
            .first()
        )
        assert order is not None, "the refunded period has an order"
        total = int(order.total)
        amount = {"full": total, "half": total // 2, "up_to_500": min(500, total)}[share]
        await orders.refund_order(self.org_id, order.id, amount, destination, reason)

    def seat_members(self, person: Person, start: datetime, grown_at: datetime | None) -> None:
        """Seats given by email: the first ``claimed`` people took theirs within hours of the start, the last
        ``revoked`` were taken back 20 days ago, the others were invited in the last hours."""
        for index, (name, email) in enumerate(person.members):
            if index >= len(person.members) - person.revoked:
                invited = (grown_at or start) + timedelta(days=1, hours=index)
                self._seat(person.email, name, email, invited, claimed=True)
                self.at(self.now - timedelta(days=20), functools.partial(self._revoke, person.email, email))
            elif index < person.claimed:
                self._seat(person.email, name, email, start + timedelta(hours=2 + index), claimed=True)
            else:
                invited = self.now - timedelta(hours=self.rng.randint(2, 10))
                self._seat(person.email, name, email, invited, claimed=False)

    def _seat(self, owner: str, name: str, email: str, invited: datetime, *, claimed: bool) -> None:
        self.at(invited, functools.partial(self._invite, owner, email))
        if claimed:
            accepted = invited + timedelta(hours=self.rng.randint(1, 20))
            self.at(accepted, functools.partial(self._claim, name, email))

    async def _invite(self, owner: str, email: str) -> None:
        _, token = await seats.assign_seat(self.org_id, self.subscriptions[owner], email)
        self.claim_tokens[email] = token

    async def _claim(self, name: str, email: str) -> None:
        if email not in self.customers:
            member = await customers.create_customer(
                self.org_id, msgspec.convert({"email": email, "name": name}, CustomerCreate)
            )
            self.customers[email] = UUID(str(member.id))
        await seats.claim_seat(self.org_id, self.claim_tokens.pop(email))

    async def _revoke(self, owner: str, email: str) -> None:
        for seat in await seats.list_seats(self.org_id, self.subscriptions[owner]):
            if seat.email == email and seat.status != "revoked":
                await seats.revoke_seat(self.org_id, seat.id)

    # -- usage ---------------------------------------------------------------------------------------------

    def usage_events(
        self, email: str, story: Story, start: datetime, end: datetime, bound: Callable[[int], datetime]
    ) -> None:
        """Three API batches a day and one storage reading, growing over the months and quieter at weekends.
        The customer's system sends them weekly, and once more just before each renewal."""
        sends = sorted({*(bound(k) for k in range(1, 400) if bound(k) <= end), *_weekly(start, end)})
        requests_per_day, gigabytes = story.usage_per_day
        span = (end - start).total_seconds()
        day = start.date()
        while (midnight := datetime.combine(day, time(), UTC)) <= end:
            weekday = 0.55 if day.weekday() >= 5 else 1.0
            growth = 0.65 + 0.35 * (midnight - start).total_seconds() / span
            for name, readings, per_day in (
                ("api_requests", 3, requests_per_day * weekday),
                ("storage_gb_hours", 1, gigabytes * 24),
            ):
                for _ in range(readings):
                    moment = midnight + timedelta(seconds=self.rng.randint(0, 86_399))
                    if not start <= moment <= end:
                        continue
                    value = max(1, round(per_day * growth / readings * self.rng.uniform(0.8, 1.2)))
                    event = UsageEventIn(
                        name=name,
                        value=value,
                        occurred_at=moment,
                        event_id=f"evt_{self.rng.getrandbits(96):024x}",
                    )
                    sent = next((at - timedelta(seconds=1) for at in sends if at > moment), self.now)
                    self.usage.setdefault(min(sent, self.now), []).append((email, event))
            day += timedelta(days=1)


def _weekly(start: datetime, end: datetime) -> list[datetime]:
    return [start + timedelta(days=7 * n) for n in range(1, (end - start).days // 7 + 1)]
