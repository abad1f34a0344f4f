"""Tax rates (``/v1/tax-rates``) and the merchant's tax registrations (``/v1/tax-registrations``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, example_body, problems
from server.tax import service as tax
from server.tax.schemas import (
    TaxRateCreate,
    TaxRateOut,
    TaxRateUpdate,
    TaxRegistrationCreate,
    TaxRegistrationOut,
)

RATE_EXAMPLE = {"country": "DE", "percentage": "19", "name": "VAT", "inclusive": False}


class TaxRateController(Controller):
    path = "/v1/tax-rates"
    tags = ["tax"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createTaxRate", responses=problems(writes=True))
    async def create_rate(
        self, org: NamedDependency[Organization], data: Annotated[TaxRateCreate, example_body(RATE_EXAMPLE)]
    ) -> TaxRateOut:
        """A rate charged to customers whose billing address is in ``country`` (narrowed by ``region`` and
        ``postal_prefix``); the most specific active rate applies to each order line."""
        rate = await tax.create_rate(
            org.id,
            country=data.country,
            region=data.region,
            postal_prefix=data.postal_prefix,
            percentage=data.percentage,
            name=data.name,
            inclusive=data.inclusive,
        )
        return TaxRateOut.of(rate)

    @get("/", operation_id="listTaxRates", responses=problems(422))
    async def list_rates(
        self,
        org: NamedDependency[Organization],
        country: Annotated[str | None, QueryParameter(description="One country's rates.")] = None,
    ) -> list[TaxRateOut]:
        """Every rate, active or not, by country."""
        return [TaxRateOut.of(rate) for rate in await tax.list_rates(org.id, country=country)]

    @get("/{rate_id:uuid}", operation_id="getTaxRate", responses=problems(404))
    async def get_rate(self, org: NamedDependency[Organization], rate_id: FromPath[UUID]) -> TaxRateOut:
        return TaxRateOut.of(await tax.get_rate(org.id, rate_id))

    @patch("/{rate_id:uuid}", operation_id="updateTaxRate", responses=problems(404, writes=True))
    async def update_rate(
        self,
        org: NamedDependency[Organization],
        rate_id: FromPath[UUID],
        data: Annotated[TaxRateUpdate, example_body({"percentage": "20"})],
    ) -> TaxRateOut:
        """Change a rate from now on (``active: false`` retires it); issued orders keep their figures."""
        rate = await tax.update_rate(
            org.id,
            rate_id,
            percentage=data.percentage,
            name=data.name,
            inclusive=data.inclusive,
            active=data.active,
        )
        return TaxRateOut.of(rate)


class TaxRegistrationController(Controller):
    path = "/v1/tax-registrations"
    tags = ["tax"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createTaxRegistration", responses=problems(writes=True))
    async def create_registration(
        self,
        org: NamedDependency[Organization],
        data: Annotated[TaxRegistrationCreate, example_body({"country": "DE", "tax_number": "DE136695976"})],
    ) -> TaxRegistrationOut:
        """Where you collect tax and your number there (printed on invoices). The first is your home
        country: EU reverse charge applies to business customers in other member states."""
        registration = await tax.add_registration(
            org.id, country=data.country, region=data.region, tax_number=data.tax_number
        )
        return TaxRegistrationOut.of(registration)

    @get("/", operation_id="listTaxRegistrations", responses=problems())
    async def list_registrations(self, org: NamedDependency[Organization]) -> list[TaxRegistrationOut]:
        return [TaxRegistrationOut.of(r) for r in await tax.list_registrations(org.id)]
