"""Tax rates and the merchant's tax registrations in and out of the merchant API (rules:
``server.tax.service``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from server.db.tables import CreditNote, TaxRate, TaxRegistration
from server.schemas.common import END, ONE_LINE, json_value
from server.tax.service import TaxLine

Country = Annotated[
    str, Meta(pattern=rf"^[A-Z]{{2}}{END}", description="ISO 3166-1 alpha-2", examples=["DE"])
]
Region = Annotated[
    str, Meta(max_length=64, pattern=ONE_LINE, description="A state or province as in billing addresses.")
]
Percentage = float | str
"""Percent from 0 to 100 with up to 4 decimals, as a number (19) or a decimal string ("8.875"); checked by
the tax service."""
TaxName = Annotated[str, Meta(min_length=1, max_length=40, pattern=ONE_LINE, examples=["VAT"])]


class TaxRateCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    country: Country
    region: Region = ""
    """Only customers whose billing address has this state (empty: the whole country)."""
    postal_prefix: Annotated[str, Meta(max_length=16, pattern=ONE_LINE)] = ""
    """Only customers whose postal code starts with this (empty: any)."""
    percentage: Percentage
    name: TaxName
    inclusive: bool = False
    """Prices of ``taxable`` products already contain this tax."""


class TaxRateUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out (or null) stay as they are; issued orders keep their figures."""

    percentage: Percentage | None = None
    name: TaxName | None = None
    inclusive: bool | None = None
    active: bool | None = None


class TaxRateOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    country: str
    region: str
    postal_prefix: str
    percentage: str
    name: str
    inclusive: bool
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: TaxRate) -> TaxRateOut:
        return cls(
            id=str(row.id),
            country=row.country,
            region=row.region,
            postal_prefix=row.postal_prefix,
            percentage=row.percentage,
            name=row.name,
            inclusive=bool(row.inclusive),
            active=bool(row.active),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class TaxRegistrationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    country: Country
    region: Region = ""
    tax_number: Annotated[str, Meta(min_length=1, max_length=64, pattern=ONE_LINE, examples=["DE136695976"])]


class TaxRegistrationOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    country: str
    region: str
    tax_number: str
    created_at: datetime

    @classmethod
    def of(cls, row: TaxRegistration) -> TaxRegistrationOut:
        return cls(
            id=str(row.id),
            country=row.country,
            region=row.region,
            tax_number=row.tax_number,
            created_at=row.created_at,
        )


class CreditNoteOut(msgspec.Struct, kw_only=True, frozen=True):
    """What a refund of an invoiced order gave back, net and tax per rate, under its own number."""

    id: str
    number: str
    order_id: str
    refund_id: str
    invoice_number: str | None
    currency: str
    net: int
    tax_amount: int
    total: int
    tax_lines: list[TaxLine]
    issued_at: datetime

    @classmethod
    def of(cls, row: CreditNote, invoice_number: str | None) -> CreditNoteOut:
        return cls(
            id=str(row.id),
            number=row.number,
            order_id=str(row.order),
            refund_id=str(row.refund),
            invoice_number=invoice_number,
            currency=row.currency,
            net=row.net,
            tax_amount=row.tax_amount,
            total=row.total,
            tax_lines=msgspec.convert(json_value(row.tax_lines) or [], list[TaxLine]),
            issued_at=row.issued_at,
        )
