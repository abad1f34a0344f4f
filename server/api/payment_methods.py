"""A customer's saved cards: list, add, make default, remove. Adding or choosing a default card retries the
customer's failed orders with it at once."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.api.openapi import API_KEY_SECURITY, example_body, problems
from server.db.tables import Organization
from server.schemas.billing import CARD_EXAMPLE, PaymentMethodCreate, PaymentMethodOut
from server.schemas.common import Page
from server.security.keyring import Keyring
from server.services import customers, payments

CustomerId = FromPath[UUID]


class PaymentMethodController(Controller):
    path = "/v1/customers/{customer_id:uuid}/payment-methods"
    tags = ["payment-methods"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listPaymentMethods", responses=problems(404))
    async def list_payment_methods(
        self, org: NamedDependency[Organization], customer_id: CustomerId
    ) -> Page[PaymentMethodOut]:
        """The customer's cards (brand, last four digits, expiry); never a full number."""
        await customers.get_customer(org.id, customer_id)
        rows = await payments.list_payment_methods(org.id, customer_id)
        return Page(items=[PaymentMethodOut.of(m) for m in rows], next_cursor=None)

    @post("/", operation_id="addPaymentMethod", responses=problems(402, 404, writes=True))
    async def add_payment_method(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        customer_id: CustomerId,
        data: Annotated[PaymentMethodCreate, example_body(CARD_EXAMPLE)],
    ) -> PaymentMethodOut:
        """Save a card (402 when the provider declines it)."""
        await customers.get_customer(org.id, customer_id)
        method = await payments.add_payment_method(
            org.id,
            customer_id,
            keyring=keyring,
            number=data.number,
            exp_month=data.exp_month,
            exp_year=data.exp_year,
            cvc=data.cvc,
            make_default=data.make_default,
        )
        return PaymentMethodOut.of(method)

    @post(
        "/{payment_method_id:uuid}/default",
        operation_id="setDefaultPaymentMethod",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def set_default(
        self, org: NamedDependency[Organization], customer_id: CustomerId, payment_method_id: FromPath[UUID]
    ) -> PaymentMethodOut:
        """Make this card the default (``payment_method.updated``); failed orders are retried with it."""
        return PaymentMethodOut.of(
            await payments.set_default_payment_method(org.id, customer_id, payment_method_id)
        )

    @delete("/{payment_method_id:uuid}", operation_id="removePaymentMethod", responses=problems(404))
    async def remove(
        self, org: NamedDependency[Organization], customer_id: CustomerId, payment_method_id: FromPath[UUID]
    ) -> None:
        """Delete a card; when it was the default, the newest remaining card takes over."""
        await payments.remove_payment_method(org.id, customer_id, payment_method_id)
