"""Wallet: balance per currency, credit history by kind, credits about to expire, how credits are used."""

from __future__ import annotations

from datetime import datetime

import msgspec

from server import clock
from server.auth.sessions import PortalContext
from server.wallet.service import list_transactions, list_wallets
from widgets.base import Params, View

HISTORY_LIMIT = 50


class Balance(msgspec.Struct, frozen=True):
    currency: str
    amount: int


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    description: str
    amount: int
    currency: str
    created_at: datetime
    expires_at: datetime | None


class Expiry(msgspec.Struct, frozen=True, kw_only=True):
    remaining: int
    currency: str
    expires_at: datetime


class WalletModel(msgspec.Struct, frozen=True, kw_only=True):
    balances: list[Balance]
    history: list[Entry]
    expiring: list[Expiry]


async def load(ctx: PortalContext, params: Params) -> WalletModel:
    wallets = await list_wallets(ctx.org.id, ctx.customer.id)
    currency_of = {str(w.id): w.currency for w in wallets}
    transactions = await list_transactions(ctx.org.id, ctx.customer.id, limit=HISTORY_LIMIT)
    now = clock.now()
    history = [
        Entry(
            kind=t.kind,
            description=t.description,
            amount=int(t.amount),
            currency=currency_of.get(str(t.wallet), ""),
            created_at=t.created_at,
            expires_at=t.expires_at,
        )
        for t in transactions
    ]
    expiring = sorted(
        (
            Expiry(
                remaining=int(t.remaining),
                currency=currency_of.get(str(t.wallet), ""),
                expires_at=t.expires_at,
            )
            for t in transactions
            if t.expires_at is not None and t.expires_at > now and (t.remaining or 0) > 0
        ),
        key=lambda e: e.expires_at,
    )
    return WalletModel(
        balances=[Balance(currency=w.currency, amount=int(w.balance)) for w in wallets],
        history=history,
        expiring=expiring,
    )


VIEW = View(slug="wallet", title="Wallet", load=load)
