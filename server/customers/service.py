"""Customers of a merchant; `customer.created` and `customer.updated` commit with the change."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from piccolo.query import WhereRaw

from server import clock
from server.auth.magic_links import LinkRefused
from server.countries import CODES as COUNTRY_CODES
from server.customers.schemas import Address, CustomerCreate, CustomerOut, CustomerUpdate
from server.db.constraints import unique_or_conflict
from server.db.engine import write_transaction
from server.db.pagination import Page, paginate
from server.db.tables import Customer, MagicLink
from server.errors import Invalid, NotFound
from server.schemas.validators import check_metadata
from server.tax.tax_ids import validate_tax_id
from server.webhooks.outbox import record_event


def _taken(external_id: str) -> str:
    return f"another customer already has external_id {external_id!r}"


def _check_country(address: Address | None) -> None:
    if address is not None and address.country and address.country not in COUNTRY_CODES:
        raise Invalid(
            f"billing_address.country: {address.country!r} is not an ISO 3166-1 alpha-2 country code "
            "(e.g. DE for Germany, GB for the United Kingdom)"
        )


def _event_data(customer: Customer) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(CustomerOut.of(customer))
    return data


async def create_customer(org_id: UUID, data: CustomerCreate) -> Customer:
    check_metadata(data.metadata)
    _check_country(data.billing_address)
    if data.tax_id_type:
        data = msgspec.structs.replace(data, tax_id=validate_tax_id(data.tax_id_type, data.tax_id))
    now = clock.now()
    fields = msgspec.to_builtins(data)
    customer = Customer(
        org=org_id,
        **{**fields, "billing_email": data.billing_email or ""},
        created_at=now,
        updated_at=now,
    )
    with unique_or_conflict(_taken(data.external_id or "")):
        async with write_transaction():
            await customer.save()
            await record_event(org_id, "customer.created", _event_data(customer))
    return customer


async def get_customer(org_id: UUID, customer_id: UUID) -> Customer:
    customer = await Customer.objects().where(Customer.org == org_id, Customer.id == customer_id).first()
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer


async def get_customer_by_external_id(org_id: UUID, external_id: str) -> Customer:
    customer = (
        await Customer.objects().where(Customer.org == org_id, Customer.external_id == external_id).first()
    )
    if customer is None:
        raise NotFound(f"no customer with external_id {external_id!r}")
    return customer


async def list_customers(
    org_id: UUID,
    *,
    limit: int,
    cursor: str | None = None,
    email: str | None = None,
    deletion_requested: bool = False,
) -> Page[Customer]:
    """Live customers, oldest first; ``email`` narrows to one address, ``deletion_requested`` to those who
    asked for their account to be deleted."""
    query = Customer.objects().where(Customer.org == org_id, Customer.deleted_at.is_null())
    if email is not None:
        query = query.where(Customer.email == email)
    if deletion_requested:
        query = query.where(Customer.deletion_requested_at.is_not_null())
    return await paginate(query, Customer, limit=limit, cursor=cursor)


async def search_customers(org_id: UUID, text: str, *, limit: int = 25) -> list[Customer]:
    """Live customers whose email, name, company or external id contains ``text`` (any letter case), newest
    first; the newest ``limit`` when ``text`` is blank."""
    query = Customer.objects().where(Customer.org == org_id, Customer.deleted_at.is_null())
    needle = text.strip()[:200]
    if needle:
        columns = ("email", "name", "company_name", "COALESCE(external_id, '')")
        matches = " OR ".join(f"lower({column}) LIKE {{}}" for column in columns)
        query = query.where(WhereRaw(f"({matches})", *[f"%{needle.lower()}%"] * len(columns)))
    return list(await query.order_by(Customer.created_at, ascending=False).limit(limit))


async def update_customer(org_id: UUID, customer_id: UUID, changes: CustomerUpdate) -> Customer:
    check_metadata(changes.metadata or {})
    _check_country(changes.billing_address)
    values = {k: v for k, v in msgspec.to_builtins(changes).items() if v is not None}
    with unique_or_conflict(_taken(changes.external_id or "")):
        async with write_transaction():
            customer = await get_customer(org_id, customer_id)
            if not values:
                return customer
            for name, value in values.items():
                setattr(customer, name, value)
            if customer.tax_id_type and ({"tax_id", "tax_id_type"} & values.keys()):
                customer.tax_id = validate_tax_id(customer.tax_id_type, customer.tax_id)
            customer.updated_at = clock.now()
            await customer.save([getattr(Customer, name) for name in [*values, "updated_at"]])
            await record_event(org_id, "customer.updated", _event_data(customer))
    return customer


async def archive_customer(org_id: UUID, customer_id: UUID) -> Customer:
    """Hide a customer from lists and the portal; its orders and history stay."""
    async with write_transaction():
        customer = await get_customer(org_id, customer_id)
        if customer.deleted_at is None:
            customer.deleted_at = customer.updated_at = clock.now()
            await customer.save([Customer.deleted_at, Customer.updated_at])
            await record_event(org_id, "customer.updated", _event_data(customer))
    return customer


async def note_customer_change(org_id: UUID, customer_id: UUID, **details: str) -> Customer:
    """Inside the caller's transaction: something of the customer's that is not one of their fields changed
    (a connected account). ``updated_at`` moves and ``customer.updated`` goes out; ``details`` (ids and
    names, never personal data) tell the activity log what it was."""
    customer = await get_customer(org_id, customer_id)
    customer.updated_at = clock.now()
    await customer.save([Customer.updated_at])
    await record_event(org_id, "customer.updated", _event_data(customer), details=details)
    return customer


async def apply_email_change(link: MagicLink) -> Customer:
    """The change a verified email-change link asked for; ``customer.updated`` fires with it."""
    if link.customer is None or link.new_email is None:
        raise LinkRefused("this link does not change an email address")
    return await update_customer(
        UUID(str(link.org)), UUID(str(link.customer)), CustomerUpdate(email=link.new_email)
    )
