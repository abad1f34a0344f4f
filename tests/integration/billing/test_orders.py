"""Orders: creation with wallet credit and gapless invoice numbers, payment, manual retries and refunds.

The small factories at the top are shared by the other billing test modules of this half (payments, wallet,
invoices, dunning)."""

import asyncio
import uuid
from datetime import timedelta

import msgspec
import pytest

from server import clock
from server.billing import orders, payments
from server.billing.orders import LineDraft
from server.billing.sandbox import SANDBOX
from server.db.engine import write_transaction
from server.db.tables import (
    Customer,
    Order,
    OrderLine,
    Organization,
    Price,
    Product,
    Refund,
    Subscription,
    WebhookEvent,
)
from server.enums import WalletTransactionKind
from server.errors import Conflict, Invalid, NotFound, PaymentFailed, RateLimited
from server.wallet import service as wallet

GOOD_CARD = "4242424242424242"
FAILS_ON_CHARGE = "4000000000000341"


async def make_customer(org_id, **fields):
    now = clock.now()
    customer = Customer(
        org=org_id,
        email=fields.pop("email", f"{uuid.uuid4().hex[:8]}@example.com"),
        created_at=now,
        updated_at=now,
        **fields,
    )
    await customer.save()
    return customer


async def make_subscription(org_id, customer_id, *, status="active", amount=1000, currency="USD"):
    now = clock.now()
    product = Product(org=org_id, name="Pro", created_at=now)
    await product.save()
    price = Price(
        org=org_id,
        product=product.id,
        kind="fixed",
        interval="month",
        currency=currency,
        amount=amount,
        created_at=now,
    )
    await price.save()
    subscription = Subscription(
        org=org_id,
        customer=customer_id,
        product=product.id,
        price=price.id,
        status=status,
        currency=currency,
        started_at=now,
        current_period_start=now,
        current_period_end=now + timedelta(days=30),
        created_at=now,
        updated_at=now,
    )
    await subscription.save()
    return subscription


async def add_card(keyring, org_id, customer_id, number=GOOD_CARD, **kwargs):
    return await payments.add_payment_method(
        org_id, customer_id, keyring=keyring, number=number, exp_month=12, exp_year=2099, cvc="123", **kwargs
    )


async def new_order(org_id, customer_id, *amounts, subscription_id=None, currency="USD", reason="purchase"):
    lines = [
        LineDraft(kind="base", description=f"Item {i}", amount=a, unit_amount=a)
        for i, a in enumerate(amounts)
    ]
    async with write_transaction():
        return await orders.create_order(
            org_id,
            customer_id,
            subscription_id=subscription_id,
            billing_reason=reason,
            currency=currency,
            lines=lines,
        )


async def events(org_id, type_):
    rows = (
        await WebhookEvent.select(WebhookEvent.payload)
        .where(WebhookEvent.org == org_id, WebhookEvent.type == type_)
        .order_by(WebhookEvent.created_at)
    )
    return [msgspec.json.decode(r["payload"]) for r in rows]


@pytest.fixture
async def customer(org):
    return await make_customer(org.org.id, name="Ada Lovelace")


# --- creation ----------------------------------------------------------------------------------------------


async def test_order_gets_numbered_lines_and_an_event(org, customer):
    org_id = org.org.id
    first = await new_order(org_id, customer.id, 1000, 250)
    second = await new_order(org_id, customer.id, 500)
    assert (first.invoice_number, second.invoice_number) == ("INV-000001", "INV-000002")
    assert (first.status, first.subtotal, first.total, first.wallet_applied) == ("pending", 1250, 1250, 0)
    lines = await orders.list_order_lines(org_id, first.id)
    assert [(line.description, line.amount, line.position) for line in lines] == [
        ("Item 0", 1000, 0),
        ("Item 1", 250, 1),
    ]
    created = await events(org_id, "order.created")
    assert [e["invoice_number"] for e in created] == ["INV-000001", "INV-000002"]
    assert await events(org_id, "order.paid") == []


async def test_invoice_prefix_is_the_merchants(org, customer):
    await Organization.update({Organization.invoice_prefix: "ACME"}).where(Organization.id == org.org.id)
    order = await new_order(org.org.id, customer.id, 100)
    assert order.invoice_number == "ACME-000001"


async def test_free_order_is_paid_at_once(org, customer):
    order = await new_order(org.org.id, customer.id, 0)
    assert (order.status, order.total) == ("paid", 0)
    assert [e["id"] for e in await events(org.org.id, "order.paid")] == [str(order.id)]


async def test_wallet_credit_is_applied_and_shown(org, customer):
    org_id = org.org.id
    await wallet.credit(org_id, customer.id, 300, "USD", WalletTransactionKind.PROMOTIONAL, "welcome")
    order = await new_order(org_id, customer.id, 1000)
    assert (order.subtotal, order.wallet_applied, order.total, order.status) == (1000, 300, 700, "pending")
    assert await wallet.get_balance(org_id, customer.id, "USD") == 0
    applied = await wallet.list_transactions(org_id, customer.id)
    assert (applied[0].kind, applied[0].amount, applied[0].order) == ("applied", -300, order.id)


async def test_wallet_covering_everything_pays_the_order(org, customer):
    org_id = org.org.id
    await wallet.credit(org_id, customer.id, 1500, "USD", WalletTransactionKind.PURCHASED, "top-up")
    order = await new_order(org_id, customer.id, 1000)
    assert (order.wallet_applied, order.total, order.status) == (1000, 0, "paid")
    assert await wallet.get_balance(org_id, customer.id, "USD") == 500


async def test_wallet_of_another_currency_is_not_used(org, customer):
    await wallet.credit(org.org.id, customer.id, 1500, "EUR", WalletTransactionKind.PURCHASED, "top-up")
    order = await new_order(org.org.id, customer.id, 1000)
    assert (order.wallet_applied, order.total) == (0, 1000)


async def test_net_credit_goes_to_the_wallet(org, customer):
    order = await new_order(org.org.id, customer.id, 300, -800)
    assert (order.subtotal, order.total, order.status) == (-500, 0, "paid")
    assert await wallet.get_balance(org.org.id, customer.id, "USD") == 500


@pytest.mark.parametrize(
    ("lines", "currency", "message"),
    [
        ([], "USD", "at least one line"),
        ([LineDraft(kind="bogus", description="x", amount=1)], "USD", "unknown line kind"),
        ([LineDraft(kind="base", description="", amount=1)], "USD", "description"),
        ([LineDraft(kind="base", description="x", amount=1.5)], "USD", "integers"),
        ([LineDraft(kind="base", description="x", amount=1, quantity=-1)], "USD", "quantity"),
        ([LineDraft(kind="base", description="x", amount=1)], "ZZZ", "ISO 4217"),
    ],
)
async def test_bad_orders_are_refused_and_take_no_number(org, customer, lines, currency, message):
    with pytest.raises(Invalid, match=message):
        async with write_transaction():
            await orders.create_order(
                org.org.id,
                customer.id,
                subscription_id=None,
                billing_reason="purchase",
                currency=currency,
                lines=lines,
            )
    assert await Order.count().where(Order.org == org.org.id) == 0
    assert (await new_order(org.org.id, customer.id, 100)).invoice_number == "INV-000001"


async def test_customer_and_subscription_must_be_the_orgs(org, customer):
    stranger = await make_customer(org.org.id)
    subscription = await make_subscription(org.org.id, stranger.id)
    with pytest.raises(NotFound, match="subscription"):
        await new_order(org.org.id, customer.id, 100, subscription_id=subscription.id)
    with pytest.raises(NotFound, match="customer"):
        await new_order(org.org.id, uuid.uuid4(), 100)


async def test_a_rolled_back_caller_gives_the_number_back(org, customer):
    class Boom(Exception):
        pass

    async def create_then_fail():
        async with write_transaction():
            await orders.create_order(
                org.org.id,
                customer.id,
                subscription_id=None,
                billing_reason="purchase",
                currency="USD",
                lines=[LineDraft(kind="base", description="x", amount=100)],
            )
            raise Boom

    with pytest.raises(Boom):
        await create_then_fail()
    assert (await new_order(org.org.id, customer.id, 100)).invoice_number == "INV-000001"


async def test_200_concurrent_orders_get_unique_gapless_numbers(org, customer):
    created = await asyncio.gather(*(new_order(org.org.id, customer.id, 100) for _ in range(200)))
    numbers = sorted(o.invoice_number for o in created)
    assert numbers == [f"INV-{n:06d}" for n in range(1, 201)]
    stored = await Order.select(Order.invoice_number).where(Order.org == org.org.id)
    assert sorted(r["invoice_number"] for r in stored) == numbers
    row = (
        await Organization.select(Organization.last_invoice_number)
        .where(Organization.id == org.org.id)
        .first()
    )
    assert row["last_invoice_number"] == 200


async def test_orders_are_scoped_by_org_and_customer(org, customer, keyring):
    order = await new_order(org.org.id, customer.id, 100)
    other = await make_customer(org.org.id)
    assert (await orders.get_order(org.org.id, order.id, customer_id=customer.id)).id == order.id
    with pytest.raises(NotFound):
        await orders.get_order(org.org.id, order.id, customer_id=other.id)
    with pytest.raises(NotFound):
        await orders.get_order(uuid.uuid4(), order.id)
    assert [o.id for o in (await orders.list_orders(org.org.id, customer_id=other.id)).items] == []
    assert [o.id for o in (await orders.list_orders(org.org.id, customer_id=customer.id)).items] == [order.id]


# --- payment -----------------------------------------------------------------------------------------------


async def test_attempt_payment_charges_the_default_card(org, customer, keyring):
    card = await add_card(keyring, org.org.id, customer.id)
    order = await new_order(org.org.id, customer.id, 1999)
    assert await orders.attempt_payment(org.org.id, order.id) is True
    paid = await orders.get_order(org.org.id, order.id)
    assert (paid.status, paid.payment_method, paid.payment_attempts) == ("paid", card.id, 1)
    assert paid.paid_at is not None
    assert (card.provider_ref, 1999, "USD") in SANDBOX.charges
    assert [e["status"] for e in await events(org.org.id, "order.paid")] == ["paid"]
    assert await orders.attempt_payment(org.org.id, order.id) is True  # already paid: nothing charged again
    assert SANDBOX.charges.count((card.provider_ref, 1999, "USD")) == 1


async def test_payment_recovers_a_past_due_subscription(org, customer, keyring):
    await add_card(keyring, org.org.id, customer.id)
    subscription = await make_subscription(org.org.id, customer.id, status="past_due")
    order = await new_order(org.org.id, customer.id, 1000, subscription_id=subscription.id)
    assert await orders.attempt_payment(org.org.id, order.id)
    refreshed = await Subscription.objects().where(Subscription.id == subscription.id).first()
    assert refreshed.status == "active"
    assert [e["status"] for e in await events(org.org.id, "subscription.updated")] == ["active"]


async def test_concurrent_attempts_charge_once(org, customer, keyring):
    card = await add_card(keyring, org.org.id, customer.id)
    order = await new_order(org.org.id, customer.id, 4321)
    results = await asyncio.gather(*(orders.attempt_payment(org.org.id, order.id) for _ in range(20)))
    assert results.count(True) >= 1
    assert SANDBOX.charges.count((card.provider_ref, 4321, "USD")) == 1
    assert len(await events(org.org.id, "order.paid")) == 1


async def test_failed_payment_starts_dunning_and_makes_the_subscription_past_due(org, customer, keyring):
    await add_card(keyring, org.org.id, customer.id, FAILS_ON_CHARGE)
    subscription = await make_subscription(org.org.id, customer.id)
    order = await new_order(org.org.id, customer.id, 1000, subscription_id=subscription.id)
    assert await orders.attempt_payment(org.org.id, order.id) is False
    failed = await orders.get_order(org.org.id, order.id)
    assert (failed.status, failed.payment_attempts) == ("pending", 1)
    assert failed.next_payment_attempt_at - clock.now() == pytest.approx(
        timedelta(days=2), abs=timedelta(seconds=1)
    )
    assert (
        await Subscription.objects().where(Subscription.id == subscription.id).first()
    ).status == "past_due"
    assert [e["status"] for e in await events(org.org.id, "subscription.updated")] == ["past_due"]
    assert await orders.attempt_payment(org.org.id, order.id) is False  # not due yet: no attempt made
    assert (await orders.get_order(org.org.id, order.id)).payment_attempts == 1


async def test_no_card_counts_as_a_failed_attempt(org, customer):
    order = await new_order(org.org.id, customer.id, 1000)
    assert await orders.attempt_payment(org.org.id, order.id) is False
    assert (await orders.get_order(org.org.id, order.id)).payment_attempts == 1


async def test_a_new_card_retries_failed_orders_at_once(org, customer, keyring):
    await add_card(keyring, org.org.id, customer.id, FAILS_ON_CHARGE)
    subscription = await make_subscription(org.org.id, customer.id)
    order = await new_order(org.org.id, customer.id, 1000, subscription_id=subscription.id)
    untouched = await new_order(org.org.id, customer.id, 50)  # never attempted: not a failed order
    assert not await orders.attempt_payment(org.org.id, order.id)
    card = await add_card(keyring, org.org.id, customer.id, "5555555555554444")
    paid = await orders.get_order(org.org.id, order.id)
    assert (paid.status, paid.payment_method) == ("paid", card.id)
    assert (await orders.get_order(org.org.id, untouched.id)).status == "pending"
    assert (await Subscription.objects().where(Subscription.id == subscription.id).first()).status == "active"


async def test_choosing_another_default_card_retries_too(org, customer, keyring):
    good = await add_card(keyring, org.org.id, customer.id)
    await add_card(keyring, org.org.id, customer.id, FAILS_ON_CHARGE)
    order = await new_order(org.org.id, customer.id, 700)
    assert not await orders.attempt_payment(org.org.id, order.id)
    await payments.set_default_payment_method(org.org.id, customer.id, good.id)
    assert (await orders.get_order(org.org.id, order.id)).status == "paid"


# --- manual retries ----------------------------------------------------------------------------------------


async def test_manual_retry_with_a_saved_card(org, customer, keyring):
    failing = await add_card(keyring, org.org.id, customer.id, FAILS_ON_CHARGE)
    good = await add_card(keyring, org.org.id, customer.id, make_default=False)
    order = await new_order(org.org.id, customer.id, 1000)
    assert not await orders.attempt_payment(org.org.id, order.id)
    scheduled = (await orders.get_order(org.org.id, order.id)).next_payment_attempt_at
    with pytest.raises(PaymentFailed, match="declined") as declined:
        await orders.pay_order(org.org.id, order.id, customer_id=customer.id, payment_method_id=failing.id)
    assert declined.value.extra == {"decline_code": "card_declined"}
    after = await orders.get_order(org.org.id, order.id)
    assert (after.manual_payment_attempts, after.payment_attempts) == (1, 1)
    assert after.next_payment_attempt_at == scheduled  # the dunning schedule does not move
    paid = await orders.pay_order(org.org.id, order.id, customer_id=customer.id, payment_method_id=good.id)
    assert (paid.status, paid.payment_method, paid.manual_payment_attempts) == ("paid", good.id, 2)


async def test_at_most_five_manual_retries_then_429(org, customer, keyring):
    await add_card(keyring, org.org.id, customer.id, FAILS_ON_CHARGE)
    order = await new_order(org.org.id, customer.id, 1000)
    for _ in range(5):
        with pytest.raises(PaymentFailed):
            await orders.pay_order(org.org.id, order.id, customer_id=customer.id)
    with pytest.raises(RateLimited) as limited:
        await orders.pay_order(org.org.id, order.id, customer_id=customer.id)
    assert limited.value.status == 429
    assert limited.value.retry_after >= 60
    assert (await orders.get_order(org.org.id, order.id)).manual_payment_attempts == 5


async def test_concurrent_manual_retries_respect_the_cap(org, customer, keyring):
    await add_card(keyring, org.org.id, customer.id, FAILS_ON_CHARGE)
    order = await new_order(org.org.id, customer.id, 1000)

    async def retry():
        try:
            await orders.pay_order(org.org.id, order.id, customer_id=customer.id)
        except (PaymentFailed, RateLimited, Conflict) as exc:
            return type(exc)

    await asyncio.gather(*(retry() for _ in range(12)))
    assert (await orders.get_order(org.org.id, order.id)).manual_payment_attempts <= 5


async def test_manual_retry_is_the_customers_own(org, customer, keyring):
    order = await new_order(org.org.id, customer.id, 1000)
    other = await make_customer(org.org.id)
    other_card = await add_card(keyring, org.org.id, other.id)
    with pytest.raises(NotFound):
        await orders.pay_order(org.org.id, order.id, customer_id=other.id)
    with pytest.raises(NotFound, match="payment method"):
        await orders.pay_order(org.org.id, order.id, customer_id=customer.id, payment_method_id=other_card.id)


async def test_paid_orders_cannot_be_paid_again(org, customer, keyring):
    await add_card(keyring, org.org.id, customer.id)
    order = await new_order(org.org.id, customer.id, 1000)
    await orders.attempt_payment(org.org.id, order.id)
    with pytest.raises(Conflict, match="paid"):
        await orders.pay_order(org.org.id, order.id, customer_id=customer.id)


# --- refunds -----------------------------------------------------------------------------------------------


async def paid_order(keyring, org_id, customer_id, amount=1000):
    await add_card(keyring, org_id, customer_id)
    order = await new_order(org_id, customer_id, amount)
    assert await orders.attempt_payment(org_id, order.id)
    return order


async def test_partial_then_full_refund_to_the_card(org, customer, keyring):
    order = await paid_order(keyring, org.org.id, customer.id)
    await orders.refund_order(org.org.id, order.id, 400, "payment_method", reason="requested_by_customer")
    partial = await orders.get_order(org.org.id, order.id)
    assert (partial.status, partial.refunded_amount) == ("partially_refunded", 400)
    await orders.refund_order(org.org.id, order.id, 600, "payment_method")
    full = await orders.get_order(org.org.id, order.id)
    assert (full.status, full.refunded_amount) == ("refunded", 1000)
    refunded = await events(org.org.id, "order.refunded")
    assert [(e["status"], [r["amount"] for r in e["refunds"]]) for e in refunded] == [
        ("partially_refunded", [400]),
        ("refunded", [400, 600]),
    ]
    with pytest.raises(Conflict, match="refunded"):
        await orders.refund_order(org.org.id, order.id, 1, "payment_method")


async def test_refund_to_the_wallet(org, customer, keyring):
    order = await paid_order(keyring, org.org.id, customer.id)
    refund = await orders.refund_order(org.org.id, order.id, 250, "wallet")
    assert (refund.amount, refund.destination, refund.currency) == (250, "wallet", "USD")
    assert await wallet.get_balance(org.org.id, customer.id, "USD") == 250
    entry = (await wallet.list_transactions(org.org.id, customer.id))[0]
    assert (entry.kind, entry.amount, entry.order) == ("refund", 250, order.id)


async def test_card_refunds_never_exceed_what_the_card_paid(org, customer, keyring):
    await wallet.credit(org.org.id, customer.id, 400, "USD", WalletTransactionKind.PROMOTIONAL, "gift")
    order = await paid_order(keyring, org.org.id, customer.id)  # 400 from the wallet, 600 from the card
    with pytest.raises(Invalid, match="card"):
        await orders.refund_order(org.org.id, order.id, 601, "payment_method")
    await orders.refund_order(org.org.id, order.id, 600, "payment_method")
    await orders.refund_order(org.org.id, order.id, 400, "wallet")
    assert (await orders.get_order(org.org.id, order.id)).status == "refunded"
    assert await Refund.count().where(Refund.order == order.id) == 2


@pytest.mark.parametrize(
    ("amount", "destination", "error"),
    [(0, "wallet", Invalid), (-5, "wallet", Invalid), (1001, "wallet", Invalid), (10, "cash", Invalid)],
)
async def test_bad_refunds_are_refused_and_change_nothing(org, customer, keyring, amount, destination, error):
    order = await paid_order(keyring, org.org.id, customer.id)
    with pytest.raises(error):
        await orders.refund_order(org.org.id, order.id, amount, destination)
    after = await orders.get_order(org.org.id, order.id)
    assert (after.status, after.refunded_amount) == ("paid", 0)
    assert await Refund.count().where(Refund.order == order.id) == 0


async def test_pending_orders_cannot_be_refunded(org, customer):
    order = await new_order(org.org.id, customer.id, 1000)
    with pytest.raises(Conflict, match="pending"):
        await orders.refund_order(org.org.id, order.id, 100, "wallet")


async def test_concurrent_refunds_never_exceed_the_order(org, customer, keyring):
    order = await paid_order(keyring, org.org.id, customer.id)

    async def refund():
        try:
            await orders.refund_order(org.org.id, order.id, 300, "wallet")
            return True
        except (Invalid, Conflict):
            return False

    results = await asyncio.gather(*(refund() for _ in range(10)))
    assert results.count(True) == 3
    after = await orders.get_order(org.org.id, order.id)
    assert (after.refunded_amount, after.status) == (900, "partially_refunded")
    assert await wallet.get_balance(org.org.id, customer.id, "USD") == 900


async def test_money_columns_round_trip_as_integers(org, customer):
    order = await new_order(org.org.id, customer.id, 10**12)
    row = await Order.select(Order.subtotal, Order.total).where(Order.id == order.id).first()
    assert row == {"subtotal": 10**12, "total": 10**12}
    assert all(isinstance(v, int) for v in row.values())
    line = await OrderLine.select(OrderLine.amount).where(OrderLine.order == order.id).first()
    assert isinstance(line["amount"], int)


def test_line_drafts_are_plain_structs():
    line = LineDraft(kind="usage", description="API calls", quantity=3, unit_amount=5, amount=15)
    assert msgspec.to_builtins(line)["amount"] == 15
