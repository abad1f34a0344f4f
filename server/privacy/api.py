"""The customer's own data: exports of it (a ZIP built in the background) and the erasure of it, which the
customer asks for in the portal (``customer.deletion_requested``) and you approve here."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from server.customers.schemas import CustomerOut
from server.db.tables import Organization
from server.enums import Actor
from server.http.openapi import API_KEY_SECURITY, problems
from server.privacy import data_exports, erasure
from server.privacy.data_exports import DataExportOut

CustomerId = FromPath[UUID]


class CustomerErasureController(Controller):
    path = "/v1/customers/{customer_id:uuid}"
    tags = ["customers"]
    security = API_KEY_SECURITY

    @post("/erase", operation_id="eraseCustomer", status_code=200, responses=problems(404, writes=True))
    async def erase(self, org: NamedDependency[Organization], customer_id: CustomerId) -> CustomerOut:
        """Erase the customer's personal data, whether or not they asked in the portal: their live
        subscriptions end, their name, emails, addresses, tax id, saved cards, sessions, sign-in accounts and
        seats' emails are removed, and the account is archived, all in one transaction. Orders and issued
        invoices (with the billing details on them) are kept, as bookkeeping law requires.
        ``customer.deleted`` is sent; erasing again returns the erased customer unchanged."""
        return CustomerOut.of(await erasure.erase_customer(org.id, customer_id))

    @delete(
        "/deletion-request",
        operation_id="declineCustomerDeletion",
        status_code=200,
        responses=problems(404, 409, writes=True),
    )
    async def decline(self, org: NamedDependency[Organization], customer_id: CustomerId) -> CustomerOut:
        """Withdraw the customer's pending deletion request (409 when there is none);
        ``customer.updated`` is sent."""
        return CustomerOut.of(await erasure.decline_deletion(org.id, customer_id))


class DataExportController(Controller):
    path = "/v1/customers/{customer_id:uuid}/data-exports"
    tags = ["customers"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createDataExport", status_code=202, responses=problems(404, 409, writes=True))
    async def create(self, org: NamedDependency[Organization], customer_id: CustomerId) -> DataExportOut:
        """Start building a ZIP of the customer's data (``data.json`` and the invoice PDFs); poll it until
        ``status`` is ``ready``, then download ``/archive``. One already under way is returned instead."""
        export = await data_exports.request_export(org.id, customer_id, requested_by=Actor.MERCHANT)
        return DataExportOut.of(export)

    @get("/", operation_id="listDataExports", responses=problems(404, 409))
    async def list_exports(
        self, org: NamedDependency[Organization], customer_id: CustomerId
    ) -> list[DataExportOut]:
        """The customer's exports, newest first, whoever asked for them."""
        return [DataExportOut.of(e) for e in await data_exports.list_exports(org.id, customer_id)]

    @get("/{export_id:uuid}", operation_id="getDataExport", responses=problems(404))
    async def get_export(
        self, org: NamedDependency[Organization], customer_id: CustomerId, export_id: FromPath[UUID]
    ) -> DataExportOut:
        """One export: its status and progress."""
        return DataExportOut.of(await data_exports.get_export(org.id, customer_id, export_id))

    @get(
        "/{export_id:uuid}/archive",
        operation_id="getDataExportArchive",
        media_type="application/zip",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="application/zip",
                description="The ZIP",
                generate_examples=False,
            ),
            **problems(404, 409),
        },
    )
    async def archive(
        self, org: NamedDependency[Organization], customer_id: CustomerId, export_id: FromPath[UUID]
    ) -> Response[bytes]:
        """The ZIP of a ready export (409 while it is being built, or once it expired)."""
        content, name = await data_exports.export_archive(org.id, customer_id, export_id)
        return Response(
            content,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
