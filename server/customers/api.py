"""Customers: create, read (by id or your external id), list, update, archive."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from server.customers import service as customers
from server.customers.schemas import CUSTOMER_EXAMPLE, CustomerCreate, CustomerOut, CustomerUpdate
from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.schemas.common import Page


class CustomerController(Controller):
    path = "/v1/customers"
    tags = ["customers"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createCustomer", responses=problems(writes=True))
    async def create_customer(
        self,
        org: NamedDependency[Organization],
        data: Annotated[CustomerCreate, example_body(CUSTOMER_EXAMPLE)],
    ) -> CustomerOut:
        """Create a customer; ``customer.created`` is sent to your webhooks."""
        return CustomerOut.of(await customers.create_customer(org.id, data))

    @get("/", operation_id="listCustomers", responses=problems(422))
    async def list_customers(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
        email: Annotated[str | None, QueryParameter(max_length=320)] = None,
        deletion_requested: FromQuery[bool] = False,
    ) -> Page[CustomerOut]:
        """Live customers, oldest first; ``email`` finds the customers with that address,
        ``deletion_requested=true`` those waiting for you to approve their deletion
        (``POST /v1/customers/{id}/erase``)."""
        page = await customers.list_customers(
            org.id, limit=limit, cursor=cursor, email=email, deletion_requested=deletion_requested
        )
        return Page(items=[CustomerOut.of(c) for c in page.items], next_cursor=page.next_cursor)

    @get("/{customer_id:uuid}", operation_id="getCustomer", responses=problems(404))
    async def get_customer(
        self, org: NamedDependency[Organization], customer_id: FromPath[UUID]
    ) -> CustomerOut:
        """One customer, archived ones included."""
        return CustomerOut.of(await customers.get_customer(org.id, customer_id))

    @get("/external/{external_id:str}", operation_id="getCustomerByExternalId", responses=problems(404))
    async def get_customer_by_external_id(
        self, org: NamedDependency[Organization], external_id: FromPath[str]
    ) -> CustomerOut:
        """The customer you know by your own id."""
        return CustomerOut.of(await customers.get_customer_by_external_id(org.id, external_id))

    @patch("/{customer_id:uuid}", operation_id="updateCustomer", responses=problems(404, writes=True))
    async def update_customer(
        self,
        org: NamedDependency[Organization],
        customer_id: FromPath[UUID],
        data: Annotated[CustomerUpdate, example_body({"name": "Ada King", "tax_id": "GB123456789"})],
    ) -> CustomerOut:
        """Change some fields; ``customer.updated`` is sent to your webhooks."""
        return CustomerOut.of(await customers.update_customer(org.id, customer_id, data))

    @post(
        "/{customer_id:uuid}/archive",
        operation_id="archiveCustomer",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def archive_customer(
        self, org: NamedDependency[Organization], customer_id: FromPath[UUID]
    ) -> CustomerOut:
        """Archive a customer: hidden from lists and the portal; orders and history are kept."""
        return CustomerOut.of(await customers.archive_customer(org.id, customer_id))
