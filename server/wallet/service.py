"""A customer's prepaid credit, one wallet per currency, kept as a signed ledger.

Invariants, each kept inside one transaction: the wallet's ``balance`` equals the sum of its transactions and
also the sum of ``remaining`` over its credits; a debit takes the balance down with a conditional UPDATE
(``balance >= amount``), so concurrent debits can never make it negative; a debit consumes credits
soonest-expiring first (credits that never expire last), so expiry removes only what is really left.
Lock order is always wallet row, then its transactions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from server import clock
from server.db.engine import write_transaction
from server.db.tables import Customer, Wallet, WalletTransaction
from server.enums import WalletTransactionKind as Kind
from server.errors import Conflict, Invalid, NotFound
from server.money import normalize_currency

CREDIT_KINDS = frozenset({Kind.PROMOTIONAL, Kind.PURCHASED, Kind.USAGE, Kind.REFUND, Kind.ADJUSTMENT})
DEBIT_KINDS = frozenset({Kind.APPLIED, Kind.ADJUSTMENT})
MAX_AMOUNT = 10**15
EXPIRY_BATCH = 100


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise Invalid("the amount must be a positive integer of minor units")


async def _require_customer(org_id: UUID, customer_id: UUID) -> None:
    exists = await Customer.exists().where(Customer.id == customer_id, Customer.org == org_id)
    if not exists:
        raise NotFound("no such customer")


async def get_wallet(org_id: UUID, customer_id: UUID, currency: str) -> Wallet | None:
    return (
        await Wallet.objects()
        .where(
            Wallet.org == org_id,
            Wallet.customer == customer_id,
            Wallet.currency == normalize_currency(currency),
        )
        .first()
    )


async def list_wallets(org_id: UUID, customer_id: UUID) -> list[Wallet]:
    return list(
        await Wallet.objects()
        .where(Wallet.org == org_id, Wallet.customer == customer_id)
        .order_by(Wallet.currency)
    )


async def get_balance(org_id: UUID, customer_id: UUID, currency: str) -> int:
    wallet = await get_wallet(org_id, customer_id, currency)
    return int(wallet.balance) if wallet else 0


async def list_transactions(
    org_id: UUID, customer_id: UUID, *, currency: str | None = None, limit: int = 100
) -> list[WalletTransaction]:
    """Newest first."""
    query = WalletTransaction.objects().where(
        WalletTransaction.org == org_id, WalletTransaction.customer == customer_id
    )
    if currency is not None:
        wallet = await get_wallet(org_id, customer_id, currency)
        if wallet is None:
            return []
        query = query.where(WalletTransaction.wallet == wallet.id)
    return list(await query.order_by(WalletTransaction.created_at, ascending=False).limit(limit))


async def credit(
    org_id: UUID,
    customer_id: UUID,
    amount: int,
    currency: str,
    kind: str,
    description: str = "",
    expires_at: datetime | None = None,
    *,
    order_id: UUID | None = None,
) -> WalletTransaction:
    """Add ``amount`` of credit (promotional, purchased, usage, refund or adjustment)."""
    _check_amount(amount)
    if kind not in CREDIT_KINDS:
        raise Invalid(f"a credit's kind is one of {', '.join(sorted(CREDIT_KINDS))}")
    if expires_at is not None and expires_at <= clock.now():
        raise Invalid("expires_at must be in the future")
    currency = normalize_currency(currency)
    async with write_transaction():
        await _require_customer(org_id, customer_id)
        wallet_id = await _ensure_wallet(org_id, customer_id, currency)
        await _add_to_balance(wallet_id, amount)
        entry = WalletTransaction(
            org=org_id,
            wallet=wallet_id,
            customer=customer_id,
            kind=kind,
            amount=amount,
            remaining=amount,
            description=description[:300],
            order=order_id,
            expires_at=expires_at,
            created_at=clock.now(),
        )
        await entry.save()
    return entry


async def debit(
    org_id: UUID,
    customer_id: UUID,
    amount: int,
    currency: str,
    description: str = "",
    *,
    kind: str = Kind.ADJUSTMENT,
    order_id: UUID | None = None,
) -> WalletTransaction:
    """Take ``amount`` off the balance, or Conflict when the balance is smaller."""
    _check_amount(amount)
    if kind not in DEBIT_KINDS:
        raise Invalid(f"a debit's kind is one of {', '.join(sorted(DEBIT_KINDS))}")
    currency = normalize_currency(currency)
    async with write_transaction():
        wallet = await get_wallet(org_id, customer_id, currency)
        if wallet is None or not await _take_from_balance(wallet.id, amount):
            raise Conflict(f"the wallet holds less than {amount} {currency} minor units")
        await _consume_credits(wallet.id, amount)
        entry = WalletTransaction(
            org=org_id,
            wallet=wallet.id,
            customer=customer_id,
            kind=kind,
            amount=-amount,
            description=description[:300],
            order=order_id,
            created_at=clock.now(),
        )
        await entry.save()
    return entry


async def apply_to_order(
    org_id: UUID, customer_id: UUID, order_id: UUID, currency: str, amount_due: int, description: str
) -> int:
    """Pay as much of ``amount_due`` as the wallet holds; return what was applied (0 when empty).

    Called by ``orders.create_order`` inside its transaction."""
    while amount_due > 0:
        wallet = await get_wallet(org_id, customer_id, currency)
        applied = min(int(wallet.balance), amount_due) if wallet else 0
        if applied <= 0:
            return 0
        try:
            await debit(
                org_id, customer_id, applied, currency, description, kind=Kind.APPLIED, order_id=order_id
            )
        except Conflict:
            continue  # another debit got there first: look at the balance again
        return applied
    return 0


async def expire_credits(limit: int = EXPIRY_BATCH, *, org_id: UUID | None = None) -> int:
    """Remove what is left of credits whose ``expires_at`` has passed (of every merchant, or of ``org_id``);
    return how many expired."""
    now = clock.now()
    query = WalletTransaction.select(WalletTransaction.id, WalletTransaction.wallet).where(
        WalletTransaction.expires_at <= now, WalletTransaction.remaining > 0
    )
    if org_id is not None:
        query = query.where(WalletTransaction.org == org_id)
    due = await query.order_by(WalletTransaction.expires_at).limit(limit)
    expired = 0
    for row in due:
        async with write_transaction():
            await _lock_wallet(row["wallet"])
            entry = await WalletTransaction.objects().where(WalletTransaction.id == row["id"]).first()
            if entry is None or not entry.remaining:
                continue  # spent or expired by someone else meanwhile
            left = int(entry.remaining)
            await WalletTransaction.update({WalletTransaction.remaining: 0}).where(
                WalletTransaction.id == entry.id
            )
            if not await _take_from_balance(entry.wallet, left):
                raise RuntimeError(f"wallet {entry.wallet} balance is below its unexpired credits")
            await WalletTransaction(
                org=entry.org,
                wallet=entry.wallet,
                customer=entry.customer,
                kind=Kind.EXPIRED,
                amount=-left,
                description=f"Expired: {entry.description}"[:300],
                created_at=now,
            ).save()
            expired += 1
    return expired


async def _ensure_wallet(org_id: UUID, customer_id: UUID, currency: str) -> Any:
    """The wallet's id, creating it if needed (two first credits at once create one wallet)."""
    await Wallet.raw(
        "INSERT INTO ss_wallet (id, org, customer, currency, balance, created_at) "
        "VALUES ({}, {}, {}, {}, 0, {}) ON CONFLICT (customer, currency) DO NOTHING",
        uuid4(),
        org_id,
        customer_id,
        currency,
        clock.now(),
    )
    row = (
        await Wallet.select(Wallet.id)
        .where(Wallet.org == org_id, Wallet.customer == customer_id, Wallet.currency == currency)
        .first()
    )
    assert row is not None
    return row["id"]


async def _add_to_balance(wallet_id: Any, amount: int) -> None:
    await Wallet.raw("UPDATE ss_wallet SET balance = balance + {} WHERE id = {}", amount, wallet_id)


async def _take_from_balance(wallet_id: Any, amount: int) -> bool:
    rows = await Wallet.raw(
        "UPDATE ss_wallet SET balance = balance - {} WHERE id = {} AND balance >= {} RETURNING balance",
        amount,
        wallet_id,
        amount,
    )
    return bool(rows)


async def _lock_wallet(wallet_id: Any) -> None:
    """Take the wallet row's lock (PostgreSQL) before touching its transactions, as debits do."""
    await Wallet.raw("UPDATE ss_wallet SET balance = balance WHERE id = {}", wallet_id)


async def _consume_credits(wallet_id: Any, amount: int) -> None:
    credits = await WalletTransaction.select(
        WalletTransaction.id,
        WalletTransaction.remaining,
        WalletTransaction.expires_at,
        WalletTransaction.created_at,
    ).where(WalletTransaction.wallet == wallet_id, WalletTransaction.remaining > 0)
    never = datetime.max.replace(tzinfo=clock.now().tzinfo)
    credits.sort(key=lambda c: (c["expires_at"] or never, c["created_at"]))
    for entry in credits:
        if amount == 0:
            break
        used = min(int(entry["remaining"]), amount)
        await WalletTransaction.update(
            {WalletTransaction.remaining: WalletTransaction.remaining - used}
        ).where(WalletTransaction.id == entry["id"])
        amount -= used
    if amount:
        raise RuntimeError(f"wallet {wallet_id} credits do not cover its balance")
