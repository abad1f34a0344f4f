"""Billing's routes:

- ``/v1/orders``: orders (each one is also its invoice): list, read with lines and refunds, the invoice
  PDF, refunds.
- ``/v1/customers/{id}/payment-methods``: a customer's saved cards: list, add, make default, remove.
  Adding or choosing a default card retries the customer's failed orders with it at once.
- ``/v1/payment-provider``: the merchant's card processor, the sandbox by default or Stripe with the
  account's keys. Secrets go in and never come out.
- ``POST /webhooks/stripe/{org_slug}``: where a merchant's Stripe account sends its events (the URL
  ``/v1/payment-provider`` shows). No API key: the ``Stripe-Signature`` header, checked against the
  merchant's webhook signing secret, is the credential."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from server.billing import orders, payment_providers, payments, stripe_events
from server.billing.schemas import (
    CARD_EXAMPLE,
    PAYMENT_PROVIDER_EXAMPLE,
    REFUND_EXAMPLE,
    OrderOut,
    PaymentMethodCreate,
    PaymentMethodOut,
    PaymentProviderOut,
    PaymentProviderPut,
    RefundCreate,
    RefundOut,
)
from server.customers import service as customers
from server.db.tables import Organization
from server.enums import OrderStatus
from server.http.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.http.types import AnyRequest
from server.schemas.common import Page
from server.security.keyring import Keyring
from server.settings import Settings
from server.tax.schemas import CreditNoteOut

OrderId = FromPath[UUID]


class OrderController(Controller):
    path = "/v1/orders"
    tags = ["orders"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listOrders", responses=problems(422))
    async def list_orders(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
        customer_id: Annotated[UUID | None, QueryParameter()] = None,
        subscription_id: Annotated[UUID | None, QueryParameter()] = None,
        status: Annotated[OrderStatus | None, QueryParameter()] = None,
    ) -> Page[OrderOut]:
        """Orders oldest first, with their lines and refunds; filter by customer, subscription or status."""
        page = await orders.list_orders(
            org.id,
            customer_id=customer_id,
            subscription_id=subscription_id,
            status=status,
            limit=limit,
            cursor=cursor,
        )
        return Page(items=await orders.order_views(org.id, page.items), next_cursor=page.next_cursor)

    @get("/{order_id:uuid}", operation_id="getOrder", responses=problems(404))
    async def get_order(self, org: NamedDependency[Organization], order_id: OrderId) -> OrderOut:
        """One order with its lines and refunds."""
        return (await orders.order_views(org.id, [await orders.get_order(org.id, order_id)]))[0]

    @get(
        "/{order_id:uuid}/invoice",
        operation_id="getOrderInvoice",
        media_type="application/pdf",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="application/pdf",
                description="The invoice PDF",
                generate_examples=False,
            ),
            **problems(404, 409),
        },
    )
    async def get_invoice(self, org: NamedDependency[Organization], order_id: OrderId) -> Response[bytes]:
        """The invoice PDF. The first download issues it; every later one returns the same bytes."""
        pdf = await orders.invoice_pdf(org.id, order_id)
        order = await orders.get_order(org.id, order_id)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{order.invoice_number or order.id}.pdf"'},
        )

    @get("/{order_id:uuid}/credit-notes", operation_id="listOrderCreditNotes", responses=problems(404))
    async def list_credit_notes(
        self, org: NamedDependency[Organization], order_id: OrderId
    ) -> list[CreditNoteOut]:
        """The order's credit notes, oldest first: one per refund, each referencing the invoice."""
        order = await orders.get_order(org.id, order_id)
        notes = await orders.list_credit_notes(org.id, order_id)
        return [CreditNoteOut.of(note, order.invoice_number) for note in notes]

    @get(
        "/{order_id:uuid}/credit-notes/{credit_note_id:uuid}/pdf",
        operation_id="getOrderCreditNotePdf",
        media_type="application/pdf",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="application/pdf",
                description="The credit note PDF",
                generate_examples=False,
            ),
            **problems(404),
        },
    )
    async def get_credit_note_pdf(
        self, org: NamedDependency[Organization], order_id: OrderId, credit_note_id: FromPath[UUID]
    ) -> Response[bytes]:
        note, pdf = await orders.credit_note_pdf(org.id, order_id, credit_note_id)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{note.number}.pdf"'},
        )

    @post("/{order_id:uuid}/refunds", operation_id="refundOrder", responses=problems(402, 404, writes=True))
    async def refund_order(
        self,
        org: NamedDependency[Organization],
        order_id: OrderId,
        data: Annotated[RefundCreate, example_body(REFUND_EXAMPLE)],
    ) -> RefundOut:
        """Refund part or all of a paid order to the card it was paid with or to the customer's wallet."""
        refund = await orders.refund_order(
            org.id, order_id, data.amount, data.destination, reason=data.reason
        )
        return RefundOut.of(refund)


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


class PaymentProviderController(Controller):
    path = "/v1/payment-provider"
    tags = ["payment-provider"]
    security = API_KEY_SECURITY

    @get("/", operation_id="getPaymentProvider", responses=problems())
    async def get_provider(
        self, org: NamedDependency[Organization], settings: NamedDependency[Settings]
    ) -> PaymentProviderOut:
        """Who processes your customers' cards: ``sandbox`` or ``stripe`` (with the publishable key, the
        last four characters of the secret key and the webhook URL to register in Stripe)."""
        config = await payment_providers.get_config(org.id)
        return payment_providers.describe(config, public_url=settings.public_url, org_slug=org.slug)

    @put("/", operation_id="putPaymentProvider", responses=problems(writes=True))
    async def put_provider(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        settings: NamedDependency[Settings],
        data: Annotated[PaymentProviderPut, example_body(PAYMENT_PROVIDER_EXAMPLE)],
    ) -> PaymentProviderOut:
        """Connect Stripe (``secret_key``, ``publishable_key`` and ``webhook_secret`` the first time; later,
        only what changes) or go back to the ``sandbox``. Secrets are stored encrypted and never returned.
        From then on the portal takes new cards in Stripe.js: card numbers never reach selfserve."""
        config = await payment_providers.put_provider(org.id, data, keyring=keyring)
        return payment_providers.describe(config, public_url=settings.public_url, org_slug=org.slug)


class StripeWebhookController(Controller):
    path = "/webhooks/stripe"
    include_in_schema = False

    @post("/{org_slug:str}", status_code=200)
    async def receive(
        self, request: AnyRequest, org_slug: FromPath[str], keyring: NamedDependency[Keyring]
    ) -> dict[str, str]:
        """200 once the event is applied (or was already); 401 for a bad signature, so Stripe retries."""
        outcome = await stripe_events.receive(
            org_slug,
            await request.body(),
            request.headers.get("stripe-signature", ""),
            keyring=keyring,
        )
        return {"received": outcome}
