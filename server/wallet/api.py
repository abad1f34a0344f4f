"""A customer's wallet: balances and transactions, credits and debits."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.customers import service as customers
from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, example_body, problems
from server.wallet import service as wallet
from server.wallet.schemas import (
    CREDIT_EXAMPLE,
    DEBIT_EXAMPLE,
    BalanceOut,
    WalletCredit,
    WalletEntryIn,
    WalletOut,
    WalletTransactionOut,
)

CustomerId = FromPath[UUID]


class WalletController(Controller):
    path = "/v1/customers/{customer_id:uuid}/wallet"
    tags = ["wallet"]
    security = API_KEY_SECURITY

    @get("/", operation_id="getWallet", responses=problems(404))
    async def get_wallet(self, org: NamedDependency[Organization], customer_id: CustomerId) -> WalletOut:
        """Balances per currency and the latest transactions, newest first."""
        await customers.get_customer(org.id, customer_id)
        wallets = await wallet.list_wallets(org.id, customer_id)
        currency_of = {str(w.id): w.currency for w in wallets}
        entries = await wallet.list_transactions(org.id, customer_id)
        return WalletOut(
            customer_id=str(customer_id),
            balances=[BalanceOut.of(w) for w in wallets],
            transactions=[WalletTransactionOut.of(t, currency_of[str(t.wallet)]) for t in entries],
        )

    @post("/credit", operation_id="creditWallet", responses=problems(404, writes=True))
    async def credit(
        self,
        org: NamedDependency[Organization],
        customer_id: CustomerId,
        data: Annotated[WalletCredit, example_body(CREDIT_EXAMPLE)],
    ) -> WalletTransactionOut:
        """Add credit; it is applied to the customer's next orders in that currency."""
        entry = await wallet.credit(
            org.id, customer_id, data.amount, data.currency, data.kind, data.description, data.expires_at
        )
        return WalletTransactionOut.of(entry, data.currency)

    @post("/debit", operation_id="debitWallet", responses=problems(404, writes=True))
    async def debit(
        self,
        org: NamedDependency[Organization],
        customer_id: CustomerId,
        data: Annotated[WalletEntryIn, example_body(DEBIT_EXAMPLE)],
    ) -> WalletTransactionOut:
        """Take credit away; 409 when the balance is smaller (it never goes below zero)."""
        await customers.get_customer(org.id, customer_id)
        entry = await wallet.debit(org.id, customer_id, data.amount, data.currency, data.description)
        return WalletTransactionOut.of(entry, data.currency)
