"""CSV exports of a customer's data, streamed (``server.services.exports``)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Stream

from server.api.openapi import API_KEY_SECURITY, problems
from server.db.tables import Organization
from server.services import exports

CSV = "text/csv; charset=utf-8"


def _download(rows: object, name: str) -> Stream:
    return Stream(
        rows,  # type: ignore[arg-type]
        media_type=CSV,
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


class ExportController(Controller):
    path = "/v1/customers/{customer_id:uuid}"
    tags = ["exports"]
    security = API_KEY_SECURITY

    @get("/usage.csv", operation_id="exportCustomerUsage", media_type=CSV, responses=problems(404))
    async def usage_csv(self, org: NamedDependency[Organization], customer_id: FromPath[UUID]) -> Stream:
        """The customer's usage per UTC day and meter, oldest day first: ``date, meter_id, meter,
        event_name, unit, value`` (a meter's value is the sum or count it bills). Streamed."""
        return _download(await exports.usage_csv(org.id, customer_id), "usage.csv")

    @get("/orders.csv", operation_id="exportCustomerOrders", media_type=CSV, responses=problems(404))
    async def orders_csv(self, org: NamedDependency[Organization], customer_id: FromPath[UUID]) -> Stream:
        """The customer's orders and invoices, oldest first, amounts in minor units. Streamed."""
        return _download(await exports.orders_csv(org.id, customer_id), "orders.csv")
