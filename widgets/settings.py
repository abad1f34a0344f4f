"""Settings: account details, billing information (payment methods arrive with the billing services)."""

from __future__ import annotations

from typing import Any

import msgspec

from server.auth.sessions import PortalContext
from server.errors import Forbidden, Invalid
from server.i18n import gettext as _
from server.schemas.customers import CustomerUpdate
from server.services.customers import update_customer
from widgets import ActionResult, Params, View

ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "state", "country")


class AccountModel(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    external_id: str | None
    name: str
    email: str
    billing_name: str
    billing_email: str
    company_name: str
    tax_id: str
    address: dict[str, str]
    read_only: bool


def _address(value: Any) -> dict[str, str]:
    raw = msgspec.json.decode(value) if isinstance(value, str | bytes) else (value or {})
    return {name: str(raw.get(name) or "") for name in ADDRESS_FIELDS}


async def load(ctx: PortalContext, params: Params) -> AccountModel:
    customer = ctx.customer
    return AccountModel(
        customer_id=str(customer.id),
        external_id=customer.external_id,
        name=customer.name,
        email=customer.email,
        billing_name=customer.billing_name,
        billing_email=customer.billing_email,
        company_name=customer.company_name,
        tax_id=customer.tax_id,
        address=_address(customer.billing_address),
        read_only=ctx.scopes.read_only,
    )


async def update_billing(ctx: PortalContext, form: Params) -> ActionResult:
    if ctx.scopes.read_only:
        raise Forbidden(_("This link only lets you look, not change things."))
    fields = {name: form.get(name, "").strip() for name in ("billing_name", "company_name", "tax_id")}
    billing_email = form.get("billing_email", "").strip()
    address = {name: form.get(name, "").strip() for name in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    try:
        changes = msgspec.convert(
            {
                **fields,
                "billing_email": billing_email or None,
                "billing_address": {k: v for k, v in address.items() if v},
            },
            CustomerUpdate,
        )
    except msgspec.ValidationError as exc:
        raise Invalid(_("Please check the highlighted details: %(problem)s", problem=str(exc))) from exc
    customer = await update_customer(ctx.org.id, ctx.customer.id, changes)
    return ActionResult(
        message=_("Billing information saved."),
        events=[{"type": "customer.updated", "data": {"id": str(customer.id)}}],
    )


VIEW = View(slug="settings", title="Settings", load=load, actions={"update_billing": update_billing})
