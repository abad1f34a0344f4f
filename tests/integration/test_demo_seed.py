"""The demo seed on a real database: built through the services, its rows keep the invariants every service
relies on, and what a person does in the demo (charge a seeded card, add seats, pay a failed order) works."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from server.billing import orders, payments
from server.billing.payment_providers import provider_for
from server.clock import FrozenClock, use_clock
from server.db.tables import (
    TABLES,
    Benefit,
    BenefitGrant,
    Coupon,
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
from server.demo.seed import DEMO_ORIGINS, INVOICE_PREFIX, invoice_number, seed_demo
from server.metering.service import billed_batches
from server.organizations.service import create_api_key
from server.retention import service as retention
from server.subscriptions import service as subscriptions

SEEDED_AT = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)


async def _seed(keyring, slug):
    with use_clock(FrozenClock(SEEDED_AT)):
        created = await seed_demo(keyring, slug=slug, name="Acme")
    assert created is not None
    return created.org.id


@pytest.fixture(scope="module")
async def org_id(engine, keyring):
    return await _seed(keyring, f"acme-{uuid.uuid4().hex[:8]}")


def _json(value):
    return msgspec.json.decode(value) if isinstance(value, str) else value


def _ids(rows, key="id"):
    return {str(r[key]) for r in rows}


async def _counts(org_id):
    return {t.__name__: await t.count().where(t.org == org_id) for t in TABLES if hasattr(t, "org")}


async def test_seeding_again_reuses_the_data(org_id, keyring):
    org = await Organization.select().where(Organization.id == org_id).first()
    before = await _counts(org_id)
    assert await seed_demo(keyring, slug=org["slug"]) is None
    assert await _counts(org_id) == before
    assert before["Customer"] >= 20


async def test_the_org_allows_the_demo_merchant_origins(org_id):
    org = await Organization.select(Organization.allowed_origins).where(Organization.id == org_id).first()
    assert sorted(_json(org["allowed_origins"])) == sorted(DEMO_ORIGINS)


async def test_the_same_moment_gives_the_same_demo(org_id, keyring):
    other = await _seed(keyring, f"acme-{uuid.uuid4().hex[:8]}")

    async def fingerprint(oid):
        customers = await Customer.select(Customer.email, Customer.name).where(Customer.org == oid)
        orders = await Order.select(Order.invoice_number, Order.total, Order.status, Order.created_at).where(
            Order.org == oid
        )
        return sorted((c["email"], c["name"]) for c in customers), sorted(
            (o["invoice_number"], o["total"], o["status"], o["created_at"]) for o in orders
        )

    assert await fingerprint(org_id) == await fingerprint(other)


async def test_catalog_has_every_kind_of_plan(org_id):
    products = {p["name"]: p for p in await Product.select().where(Product.org == org_id)}
    prices = await Price.select().where(Price.org == org_id)
    by_product = defaultdict(list)
    for price in prices:
        by_product[str(price["product"])].append(price)

    team = by_product[str(products["Team"]["id"])]
    assert {p["interval"] for p in team} == {"month", "year"}
    assert all(p["kind"] == "per_seat" and p["min_seats"] == 1 and p["max_seats"] == 50 for p in team)
    assert all(p["seat_amount"] > 0 for p in team)

    pro = by_product[str(products["Pro"]["id"])]
    assert {(p["kind"], p["interval"]) for p in pro} == {("fixed", "month"), ("fixed", "year")}

    (api,) = by_product[str(products["API"]["id"])]
    assert api["kind"] == "metered"
    assert api["amount"] > 0
    links = await PriceMeter.select(
        PriceMeter.included_units, PriceMeter.unit_batch, PriceMeter.unit_amount, PriceMeter.meter.name
    ).where(PriceMeter.price == api["id"])
    by_meter = {link["meter.name"]: link for link in links}
    assert by_meter["API requests"]["included_units"] > 0
    assert by_meter["API requests"]["unit_batch"] == 1000
    assert len(by_meter) == 2

    (onboarding,) = by_product[str(products["Onboarding session"]["id"])]
    assert onboarding["interval"] == "one_time"
    assert products["Free"]["visible_in_portal"] is False
    archived = [p for p in products.values() if p["archived_at"] is not None]
    assert len(archived) == 1
    assert all(p["archived_at"] is not None for p in by_product[str(archived[0]["id"])])


async def test_retention_offers_answer_two_reasons_through_the_service(org_id):
    offers = (await retention.get_settings(org_id)).offers.by_reason()
    assert {reason: offer.kind for reason, offer in offers.items()} == {
        "missing_features": "coupon",
        "unused": "pause",
    }
    coupon = await Coupon.objects().where(Coupon.id == offers["missing_features"].coupon_id).first()
    assert (coupon.org, coupon.percent_off, coupon.active) == (org_id, "30", True)


async def test_every_benefit_type_is_offered_and_the_download_is_a_real_file(org_id):
    benefits = await Benefit.select().where(Benefit.org == org_id)
    assert {b["type"] for b in benefits} == {"license_key", "discord", "downloadable", "api_key", "custom"}
    linked = _ids(
        await ProductBenefit.select(ProductBenefit.benefit).where(ProductBenefit.org == org_id), "benefit"
    )
    assert linked == _ids(benefits)
    (download,) = [b for b in benefits if b["type"] == "downloadable"]
    properties = _json(download["properties"])
    (stored,) = await StoredFile.select().where(StoredFile.org == org_id)
    assert properties["file_ids"] == [str(stored["id"])]
    assert stored["size"] == len(stored["content"]) > 0
    assert hashlib.sha256(stored["content"]).hexdigest() == stored["sha256"]


async def test_license_keys_are_encrypted_and_api_keys_only_hashed(org_id, keyring):
    grants = await BenefitGrant.select(BenefitGrant.all_columns(), BenefitGrant.benefit.type).where(
        BenefitGrant.org == org_id
    )
    live_licenses = [g for g in grants if g["benefit.type"] == "license_key" and g["revoked_at"] is None]
    api_keys = [g for g in grants if g["benefit.type"] == "api_key" and g["secret_hash"]]
    assert live_licenses
    assert api_keys
    for grant in live_licenses:  # every customer with a license has looked at it once: it is issued
        key = keyring.box.decrypt(grant["secret_encrypted"])
        assert key.startswith("ACME-")
        assert key not in grant["secret_encrypted"]
        assert key.endswith(grant["secret_hint"])
    for grant in api_keys:
        assert grant["secret_encrypted"] is None
        assert len(grant["secret_hash"]) == 64
    assert {g["benefit.type"] for g in grants} == {
        "license_key",
        "discord",
        "downloadable",
        "api_key",
        "custom",
    }
    assert any(g["order"] is not None for g in grants), "a one-time purchase grants its benefits"


async def test_every_subscription_state_is_present(org_id):
    subs = await Subscription.select().where(Subscription.org == org_id)
    statuses = Counter(s["status"] for s in subs)
    assert {"active", "trialing", "past_due", "canceled", "paused"} <= set(statuses)

    leaving = [s for s in subs if s["status"] == "active" and s["cancel_at_period_end"]]
    assert leaving
    assert all(s["cancellation_reason"] and s["cancellation_comment"] and s["canceled_at"] for s in leaving)
    ended = [s for s in subs if s["status"] == "canceled"]
    assert all(s["ended_at"] is not None and s["ended_at"] <= SEEDED_AT for s in ended)
    assert all(s["trial_end"] > SEEDED_AT for s in subs if s["status"] == "trialing")
    assert all(s["paused_at"] for s in subs if s["status"] == "paused")
    assert any(s["pending_price"] for s in subs), "a plan change waits for the period end"
    for s in subs:
        if s["status"] != "canceled":
            assert s["current_period_start"] <= SEEDED_AT < s["current_period_end"]

    (past_due,) = [s for s in subs if s["status"] == "past_due"]
    (failed,) = await Order.select().where(Order.subscription == past_due["id"], Order.status == "pending")
    assert failed["paid_at"] is None
    assert failed["payment_attempts"] == 2  # declined at the renewal and at the first dunning retry
    assert failed["next_payment_attempt_at"] > SEEDED_AT
    assert failed["last_payment_error"] == "The card has expired."


async def test_team_seats_are_pending_claimed_and_revoked(org_id):
    seats = await Seat.select().where(Seat.org == org_id)
    assert {s["status"] for s in seats} == {"pending", "claimed", "revoked"}
    for seat in seats:
        if seat["status"] == "claimed":
            assert seat["member"] is not None
            assert seat["claimed_at"] is not None
        if seat["status"] == "pending":
            assert seat["invitation_hash"]
            assert seat["invitation_expires_at"] > SEEDED_AT
    subs = {str(s["id"]): s for s in await Subscription.select().where(Subscription.org == org_id)}
    live = Counter(str(s["subscription"]) for s in seats if s["status"] != "revoked")
    assert all(count <= subs[sub_id]["seats"] for sub_id, count in live.items())


async def test_invoice_numbers_are_unique_gapless_and_in_order(org_id):
    org = await Organization.select().where(Organization.id == org_id).first()
    orders = await Order.select(Order.invoice_number, Order.created_at).where(Order.org == org_id)
    assert org["invoice_prefix"] == INVOICE_PREFIX
    assert len(orders) == org["last_invoice_number"] > 50
    by_number = sorted(orders, key=lambda o: o["invoice_number"])
    assert [o["invoice_number"] for o in by_number] == [
        invoice_number(INVOICE_PREFIX, n) for n in range(1, len(orders) + 1)
    ]
    assert [o["created_at"] for o in by_number] == sorted(o["created_at"] for o in orders)


async def test_orders_add_up_and_refunds_match(org_id):
    orders = await Order.select().where(Order.org == org_id)
    lines = await OrderLine.select().where(OrderLine.org == org_id)
    refunds = await Refund.select().where(Refund.org == org_id)
    by_order = defaultdict(list)
    for line in lines:
        assert line["quantity"] * line["unit_amount"] == line["amount"]
        by_order[str(line["order"])].append(line["amount"])
    refunded = defaultdict(int)
    for refund in refunds:
        refunded[str(refund["order"])] += refund["amount"]
    for order in orders:
        oid = str(order["id"])
        assert order["subtotal"] == sum(by_order[oid])
        assert order["total"] == order["subtotal"] + order["tax_amount"] - order["wallet_applied"]
        value = order["total"] + order["wallet_applied"]
        assert order["refunded_amount"] == refunded[oid] <= value
        if refunded[oid] == 0:
            assert order["status"] in {"paid", "pending"}
        else:
            assert order["status"] == ("refunded" if refunded[oid] == value else "partially_refunded")
        assert order["created_at"] <= SEEDED_AT
    statuses = Counter(o["status"] for o in orders)
    assert statuses["refunded"] >= 1
    assert statuses["partially_refunded"] >= 2
    assert {o["billing_reason"] for o in orders} == {
        "subscription_create",
        "subscription_cycle",
        "subscription_update",
        "purchase",
    }
    assert {line["kind"] for line in lines} == {"base", "seats", "usage", "proration", "one_time"}
    assert min(o["created_at"] for o in orders) <= SEEDED_AT - timedelta(days=365)


async def test_rollups_equal_the_raw_events(org_id):
    events = await UsageEvent.select(
        UsageEvent.customer, UsageEvent.name, UsageEvent.value, UsageEvent.occurred_at
    ).where(UsageEvent.org == org_id)
    assert len(events) > 1000
    expected = defaultdict(lambda: [0, 0])
    for event in events:
        totals = expected[(str(event["customer"]), event["name"], event["occurred_at"].date().isoformat())]
        totals[0] += event["value"]
        totals[1] += 1
    rollups = await UsageRollup.select().where(UsageRollup.org == org_id)
    assert {
        (str(r["customer"]), r["name"], r["day"]): [r["total"], r["event_count"]] for r in rollups
    } == expected
    assert max(e["occurred_at"] for e in events) <= SEEDED_AT


async def test_usage_lines_bill_the_rollups_of_their_period(org_id):
    meters = {str(m["id"]): m for m in await Meter.select().where(Meter.org == org_id)}
    terms = {str(t["meter"]): t for t in await PriceMeter.select().where(PriceMeter.org == org_id)}
    rollups = await UsageRollup.select().where(UsageRollup.org == org_id)
    usage_lines = await OrderLine.select(OrderLine.all_columns(), OrderLine.order.customer).where(
        OrderLine.org == org_id, OrderLine.kind == "usage"
    )
    assert usage_lines
    overage = 0
    for line in usage_lines:
        meter, term = meters[str(line["meter"])], terms[str(line["meter"])]
        first, last = line["period_start"].date().isoformat(), line["period_end"].date().isoformat()
        used = sum(
            r["total"]
            for r in rollups
            if str(r["customer"]) == str(line["order.customer"])
            and r["name"] == meter["event_name"]
            and first <= r["day"] < last
        )
        assert line["quantity"] == billed_batches(used, term["included_units"], term["unit_batch"])
        assert line["quantity"] > 0
        assert line["unit_amount"] == term["unit_amount"]
        overage += line["amount"]
    assert overage > 0


async def test_wallet_balances_are_the_sum_of_their_ledgers(org_id):
    wallets = await Wallet.select().where(Wallet.org == org_id)
    transactions = await WalletTransaction.select().where(WalletTransaction.org == org_id)
    assert len(wallets) >= 2
    for wallet in wallets:
        ledger = [t for t in transactions if str(t["wallet"]) == str(wallet["id"])]
        assert wallet["balance"] == sum(t["amount"] for t in ledger) > 0
        assert wallet["balance"] == sum(t["remaining"] or 0 for t in ledger if t["amount"] > 0)
    kinds = {t["kind"] for t in transactions}
    assert {"promotional", "purchased", "usage", "applied", "expired", "refund"} <= kinds
    soon = [
        t
        for t in transactions
        if t["expires_at"] and SEEDED_AT < t["expires_at"] <= SEEDED_AT + timedelta(days=7) and t["remaining"]
    ]
    assert soon
    applied = {str(t["order"]): -t["amount"] for t in transactions if t["kind"] == "applied"}
    orders = await Order.select(Order.id, Order.wallet_applied).where(
        Order.org == org_id, Order.wallet_applied > 0
    )
    assert {str(o["id"]): o["wallet_applied"] for o in orders} == applied


async def test_payment_methods_have_one_default_per_customer(org_id):
    methods = await PaymentMethod.select().where(PaymentMethod.org == org_id)
    defaults = Counter(str(m["customer"]) for m in methods if m["is_default"])
    assert set(defaults) == {str(m["customer"]) for m in methods}
    assert set(defaults.values()) == {1}
    expired = [m for m in methods if (m["exp_year"], m["exp_month"]) < (SEEDED_AT.year, SEEDED_AT.month)]
    assert len(expired) == 1
    assert all(len(m["last4"]) == 4 and m["fingerprint"] and m["brand"] for m in methods)
    default_of = {str(m["customer"]): str(m["id"]) for m in methods if m["is_default"]}
    for sub in await Subscription.select().where(Subscription.org == org_id):
        if sub["default_payment_method"] is not None:
            assert str(sub["default_payment_method"]) == default_of[str(sub["customer"])]


async def test_customers_are_varied_and_complete(org_id):
    customers = await Customer.select().where(Customer.org == org_id)
    with_billing = [c for c in customers if c["company_name"]]
    assert len(with_billing) >= 15
    assert len({c["locale"] for c in customers}) >= 6
    assert sum(1 for c in customers if c["external_id"]) >= 10
    assert sum(1 for c in customers if c["tax_id"]) >= 8
    countries = set()
    for c in with_billing:
        countries.add(_json(c["billing_address"])["country"])
    assert len(countries) >= 8


async def test_the_billing_services_read_the_seeded_history(org_id):
    from server.wallet import service as wallet

    customers = await Customer.select(Customer.id, Customer.name).where(Customer.org == org_id)
    previews = 0
    with use_clock(FrozenClock(SEEDED_AT)):
        for customer in customers:
            for sub in await subscriptions.list_subscriptions(org_id, customer_id=customer["id"]):
                if sub.status in {"active", "trialing", "past_due"} and not sub.cancel_at_period_end:
                    await subscriptions.preview_next_invoice(org_id, sub.id, customer_id=customer["id"])
                    previews += 1
        for row in await Wallet.select().where(Wallet.org == org_id):
            assert await wallet.get_balance(org_id, row["customer"], row["currency"]) == row["balance"]
        order = await Order.select(Order.id).where(Order.org == org_id, Order.status == "paid").first()
        assert (await orders.invoice_pdf(org_id, order["id"])).startswith(b"%PDF")
    assert previews >= 12


async def test_every_seeded_card_is_the_sandbox_providers_and_charges(org_id):
    """Cards were saved through the payment-method service: each one the sandbox knows charges, except the
    one that has expired, which the provider declines as expired (never "Unknown card")."""
    methods = await PaymentMethod.select().where(PaymentMethod.org == org_id)
    outcomes = Counter()
    with use_clock(FrozenClock(SEEDED_AT)):
        for method in methods:
            provider = await provider_for(org_id, method["provider"])
            result = await provider.charge(
                method["provider_ref"], 100, "USD", idempotency_key=f"demo-check-{method['id']}"
            )
            expired = (method["exp_year"], method["exp_month"]) < (SEEDED_AT.year, SEEDED_AT.month)
            assert result.succeeded is not expired, (method["brand"], method["last4"], result.message)
            outcomes[result.decline_code or "ok"] += 1
    assert outcomes == {"ok": len(methods) - 1, "expired_card": 1}


async def test_the_benefits_api_answers_on_demo_data(org_id, client, keyring):
    key = await create_api_key(keyring, await Organization.objects().where(Organization.id == org_id).first())
    headers = {"Authorization": f"Bearer {key}"}
    listed = await client.get("/v1/benefits", headers=headers)
    assert listed.status_code == 200, listed.text
    benefits = listed.json()["items"]
    assert len(benefits) == 5
    discord = next(b for b in benefits if b["type"] == "discord")
    assert (await client.get(f"/v1/benefits/{discord['id']}", headers=headers)).status_code == 200
    renamed = await client.patch(
        f"/v1/benefits/{discord['id']}", json={"description": "Acme on Discord"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text


# The tests below change the demo's data: they run last, after the comparisons above.


async def test_a_seat_increase_is_charged_to_the_seeded_card(org_id):
    ada = await Customer.objects().where(Customer.org == org_id, Customer.external_id == "usr_1001").first()
    [team] = await subscriptions.list_subscriptions(org_id, customer_id=ada.id)
    with use_clock(FrozenClock(SEEDED_AT)):
        change = await subscriptions.change_seats(org_id, team.id, team.seats + 2, customer_id=ada.id)
    assert change.order is not None
    assert change.order.status == "paid"
    assert change.order.total > 0
    assert change.subscription.status == "active"


async def test_the_past_due_customer_pays_now_after_adding_a_card(org_id, keyring):
    [past_due] = await Subscription.select().where(
        Subscription.org == org_id, Subscription.status == "past_due"
    )
    customer_id = past_due["customer"]
    with use_clock(FrozenClock(SEEDED_AT)):
        [failed] = await orders.unpaid_orders(org_id, customer_id)
        card = await payments.add_payment_method(
            org_id,
            customer_id,
            keyring=keyring,
            number="4242424242424242",
            exp_month=12,
            exp_year=2030,
            cvc="123",
            make_default=False,
        )
        paid = await orders.pay_order(org_id, failed.id, customer_id=customer_id, payment_method_id=card.id)
    assert (paid.status, paid.last_payment_error) == ("paid", "")
    assert (await subscriptions.get_subscription(org_id, past_due["id"])).status == "active"
