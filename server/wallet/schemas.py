"""What the API takes and returns for a customer's wallet: entries in, transactions and balances out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.db.tables import (
    Wallet,
    WalletTransaction,
)
from server.schemas.common import Currency, MinorUnits, Positive, optional_id


class WalletEntryIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount: Positive
    currency: Currency
    description: Annotated[str, Meta(max_length=300)] = ""


class WalletCredit(WalletEntryIn, kw_only=True, forbid_unknown_fields=True):
    kind: Literal["promotional", "purchased", "usage", "refund", "adjustment"] = "promotional"
    expires_at: datetime | None = None


class WalletTransactionOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    currency: str
    kind: str
    amount: int
    """Signed: credits positive, debits negative."""
    remaining: int | None
    description: str
    order_id: str | None
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: WalletTransaction, currency: str) -> WalletTransactionOut:
        return cls(
            id=str(row.id),
            currency=currency,
            kind=row.kind,
            amount=row.amount,
            remaining=row.remaining,
            description=row.description,
            order_id=optional_id(row.order),
            expires_at=row.expires_at,
            created_at=row.created_at,
        )


class BalanceOut(msgspec.Struct, kw_only=True, frozen=True):
    currency: str
    balance: MinorUnits

    @classmethod
    def of(cls, row: Wallet) -> BalanceOut:
        return cls(currency=row.currency, balance=row.balance)


class WalletOut(msgspec.Struct, kw_only=True, frozen=True):
    customer_id: str
    balances: list[BalanceOut]
    transactions: list[WalletTransactionOut]
    """Newest first (the latest 100)."""


CREDIT_EXAMPLE = {"amount": 1000, "currency": "USD", "kind": "promotional", "description": "Welcome credit"}
DEBIT_EXAMPLE = {"amount": 250, "currency": "USD", "description": "Manual correction"}
