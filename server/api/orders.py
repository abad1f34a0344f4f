"""Orders (each one is also its invoice): list, read with lines and refunds, the invoice PDF, refunds."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from server.api.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.db.tables import Organization
from server.enums import OrderStatus
from server.schemas.billing import REFUND_EXAMPLE, OrderOut, RefundCreate, RefundOut
from server.schemas.common import Page
from server.schemas.tax import CreditNoteOut
from server.services import orders

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
