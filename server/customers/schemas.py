"""Customers in and out of the merchant API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.db.tables import Customer
from server.schemas.common import END, ONE_LINE, Email, ExternalId, Metadata, Name, json_value

Short = Annotated[str, Meta(max_length=200, pattern=ONE_LINE)]
Locale = Annotated[str, Meta(pattern=rf"^[a-z]{{2,3}}([_-][A-Za-z]{{2,4}})?{END}", examples=["en", "pt-BR"])]
TaxId = Annotated[str, Meta(max_length=64, pattern=ONE_LINE)]
TaxIdType = Literal["", "eu_vat", "gb_vat", "ch_vat", "no_vat", "au_abn", "ca_bn", "us_ein"]
"""What ``tax_id`` is; a typed id is checked (format and check digits) and an EU VAT id from another member
state than yours makes the customer's orders reverse charge. Empty: printed on invoices as given."""


class Address(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    line1: Short = ""
    line2: Short = ""
    city: Short = ""
    state: Short = ""
    postal_code: Annotated[str, Meta(max_length=20, pattern=ONE_LINE)] = ""
    country: Annotated[str, Meta(pattern=rf"^([A-Z]{{2}})?{END}", description="ISO 3166-1 alpha-2")] = ""


class CustomerCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    name: Name = ""
    external_id: ExternalId | None = None
    """Your own id for this customer; unique within your organization."""
    billing_name: Name = ""
    billing_email: Email | None = None
    company_name: Name = ""
    tax_id: TaxId = ""
    tax_id_type: TaxIdType = ""
    billing_address: Address = msgspec.field(default_factory=Address)
    locale: Locale = "en"
    metadata: Metadata = msgspec.field(default_factory=dict)


class CustomerUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out (or null) stay as they are."""

    email: Email | None = None
    name: Name | None = None
    external_id: ExternalId | None = None
    billing_name: Name | None = None
    billing_email: Email | None = None
    company_name: Name | None = None
    tax_id: TaxId | None = None
    tax_id_type: TaxIdType | None = None
    billing_address: Address | None = None
    locale: Locale | None = None
    metadata: Metadata | None = None


class CustomerOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    email: str
    name: str
    external_id: str | None
    billing_name: str
    billing_email: str
    company_name: str
    tax_id: str
    tax_id_type: str
    billing_address: Address
    locale: str
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    deletion_requested_at: datetime | None = None
    """When the customer asked, in the portal, for their account to be deleted; approve with
    ``POST /v1/customers/{id}/erase``."""
    erased_at: datetime | None = None
    """When their personal data was erased (the account is archived too)."""

    @classmethod
    def of(cls, row: Customer) -> CustomerOut:
        return cls(
            id=str(row.id),
            email=row.email,
            name=row.name,
            external_id=row.external_id,
            billing_name=row.billing_name,
            billing_email=row.billing_email,
            company_name=row.company_name,
            tax_id=row.tax_id,
            tax_id_type=row.tax_id_type,
            billing_address=msgspec.convert(json_value(row.billing_address) or {}, Address),
            locale=row.locale,
            metadata=json_value(row.metadata) or {},
            created_at=row.created_at,
            updated_at=row.updated_at,
            archived_at=row.deleted_at,
            deletion_requested_at=row.deletion_requested_at,
            erased_at=row.erased_at,
        )


CUSTOMER_EXAMPLE = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "external_id": "user_42",
    "billing_address": {"line1": "12 Analytical Row", "city": "London", "country": "GB"},
    "metadata": {"plan_source": "website"},
}
