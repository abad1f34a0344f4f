"""The wallet ledger: balance = ledger sum, never negative under concurrent debits, credits consumed
soonest-expiring first, and expiry that removes only what is left."""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server import clock
from server.db.tables import Wallet, WalletTransaction
from server.errors import Conflict, Invalid, NotFound
from server.organizations.service import create_organization
from server.wallet import service as wallet
from tests.integration.billing.test_orders import make_customer

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def customer(org):
    return await make_customer(org.org.id)


async def ledger_sum(org_id, customer_id, currency="USD"):
    entries = await wallet.list_transactions(org_id, customer_id, currency=currency, limit=10_000)
    return sum(e.amount for e in entries)


async def remaining(entry_id):
    row = (
        await WalletTransaction.select(WalletTransaction.remaining)
        .where(WalletTransaction.id == entry_id)
        .first()
    )
    return row["remaining"]


async def test_credit_and_debit_keep_balance_equal_to_the_ledger(org, customer):
    org_id = org.org.id
    await wallet.credit(org_id, customer.id, 1000, "usd", "promotional", "launch promo")
    await wallet.credit(org_id, customer.id, 250, "USD", "purchased", "top-up")
    await wallet.debit(org_id, customer.id, 400, "USD", "manual correction")
    assert await wallet.get_balance(org_id, customer.id, "USD") == 850
    assert await ledger_sum(org_id, customer.id) == 850
    kinds = [e.kind for e in await wallet.list_transactions(org_id, customer.id)]
    assert sorted(kinds) == ["adjustment", "promotional", "purchased"]
    assert [w.currency for w in await wallet.list_wallets(org_id, customer.id)] == ["USD"]


async def test_balances_are_per_currency(org, customer):
    await wallet.credit(org.org.id, customer.id, 500, "JPY", "usage", "usage credit")
    assert await wallet.get_balance(org.org.id, customer.id, "JPY") == 500
    assert await wallet.get_balance(org.org.id, customer.id, "USD") == 0
    assert await wallet.list_transactions(org.org.id, customer.id, currency="USD") == []


async def test_debit_beyond_the_balance_is_refused(org, customer):
    await wallet.credit(org.org.id, customer.id, 100, "USD", "promotional", "promo")
    with pytest.raises(Conflict, match="less than 101"):
        await wallet.debit(org.org.id, customer.id, 101, "USD", "too much")
    with pytest.raises(Conflict):
        await wallet.debit(org.org.id, customer.id, 1, "EUR", "no EUR wallet")
    assert await wallet.get_balance(org.org.id, customer.id, "USD") == 100


@pytest.mark.parametrize(
    ("amount", "kind", "expires_in", "message"),
    [
        (0, "promotional", None, "positive integer"),
        (-5, "promotional", None, "positive integer"),
        (12.5, "promotional", None, "positive integer"),
        (100, "applied", None, "kind"),
        (100, "promotional", -DAY, "future"),
    ],
)
async def test_bad_credits_are_refused(org, customer, amount, kind, expires_in, message):
    expires_at = clock.now() + expires_in if expires_in else None
    with pytest.raises(Invalid, match=message):
        await wallet.credit(org.org.id, customer.id, amount, "USD", kind, "x", expires_at)
    assert await WalletTransaction.count().where(WalletTransaction.customer == customer.id) == 0


async def test_unknown_or_other_merchants_customer_gets_no_wallet(org, keyring):
    with pytest.raises(NotFound):
        await wallet.credit(org.org.id, uuid.uuid4(), 100, "USD", "promotional", "x")
    other = await create_organization(keyring, name="Other shop")
    theirs = await make_customer(other.org.id)
    with pytest.raises(NotFound):
        await wallet.credit(org.org.id, theirs.id, 100, "USD", "promotional", "x")
    assert await wallet.list_wallets(org.org.id, theirs.id) == []


async def test_50_concurrent_debits_never_go_below_zero(org, customer):
    org_id = org.org.id
    await wallet.credit(org_id, customer.id, 1000, "USD", "purchased", "top-up")

    async def spend():
        try:
            await wallet.debit(org_id, customer.id, 30, "USD", "spend")
            return True
        except Conflict:
            return False

    results = await asyncio.gather(*(spend() for _ in range(50)))
    assert results.count(True) == 33
    assert await wallet.get_balance(org_id, customer.id, "USD") == 10
    assert await ledger_sum(org_id, customer.id) == 10


async def test_concurrent_first_credits_create_one_wallet(org, customer):
    await asyncio.gather(
        *(wallet.credit(org.org.id, customer.id, 10, "USD", "usage", "x") for _ in range(20))
    )
    assert await Wallet.count().where(Wallet.customer == customer.id) == 1
    assert await wallet.get_balance(org.org.id, customer.id, "USD") == 200


async def test_debits_use_the_soonest_expiring_credit_first_and_expiry_takes_the_rest(org, customer):
    org_id = org.org.id
    with clock.use_clock(clock.FrozenClock(T0)) as frozen:
        later = await wallet.credit(org_id, customer.id, 500, "USD", "promotional", "later", T0 + 10 * DAY)
        never = await wallet.credit(org_id, customer.id, 500, "USD", "purchased", "never")
        sooner = await wallet.credit(org_id, customer.id, 500, "USD", "usage", "sooner", T0 + 5 * DAY)
        await wallet.debit(org_id, customer.id, 700, "USD", "spend")
        assert [await remaining(e.id) for e in (sooner, later, never)] == [0, 300, 500]

        frozen.set(T0 + 6 * DAY)
        assert await wallet.expire_credits() == 0  # the soon one was already spent in full
        frozen.set(T0 + 11 * DAY)
        assert await wallet.expire_credits() == 1
        assert await wallet.expire_credits() == 0  # running again removes nothing more
    assert await remaining(later.id) == 0
    assert await wallet.get_balance(org_id, customer.id, "USD") == 500
    assert await ledger_sum(org_id, customer.id) == 500
    expired = [e for e in await wallet.list_transactions(org_id, customer.id) if e.kind == "expired"]
    assert [(e.amount, e.description) for e in expired] == [(-300, "Expired: later")]


async def test_expiry_racing_debits_keeps_the_ledger_whole(org, customer):
    org_id = org.org.id
    with clock.use_clock(clock.FrozenClock(T0)) as frozen:
        for _ in range(5):
            await wallet.credit(org_id, customer.id, 100, "USD", "promotional", "promo", T0 + DAY)
        await wallet.credit(org_id, customer.id, 100, "USD", "purchased", "kept")
        frozen.set(T0 + 2 * DAY)

        async def spend():
            with contextlib.suppress(Conflict):
                await wallet.debit(org_id, customer.id, 50, "USD", "spend")

        await asyncio.gather(wallet.expire_credits(), *(spend() for _ in range(10)))
        await wallet.expire_credits()
    balance = await wallet.get_balance(org_id, customer.id, "USD")
    assert balance >= 0
    assert balance == await ledger_sum(org_id, customer.id)
    credits = await WalletTransaction.select(WalletTransaction.remaining).where(
        WalletTransaction.customer == customer.id, WalletTransaction.remaining.is_not_null()
    )
    assert sum(c["remaining"] for c in credits) == balance
