"""Benefit grants: what a subscription's product gives its customer while the subscription is entitled.

``sync_grants`` is the one place grants start and end: it makes the live grants of a subscription match its
product's benefits (none when the subscription is paused or has ended). License keys are issued on first
view and kept encrypted at rest; API keys are shown once, when (re)generated, and only their hash is kept.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.catalog.schemas import BenefitGrantOut
from server.db.engine import write_transaction
from server.db.tables import BenefitGrant, Order, ProductBenefit, Subscription
from server.enums import BenefitType
from server.enums import SubscriptionStatus as Status
from server.errors import Invalid, NotFound
from server.security.keyring import Keyring
from server.security.secrets import sha256_hex
from server.webhooks.outbox import record_event

ENTITLED = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)
LICENSE_KEY_GROUPS = 4
_KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class GrantView(msgspec.Struct, kw_only=True):
    """A live grant as its customer sees it. ``license_key`` is filled only when a keyring is given."""

    id: UUID
    benefit_id: UUID
    subscription_id: UUID | None
    type: str
    description: str
    properties: dict[str, Any]
    granted_at: datetime
    license_key: str | None = None
    api_key_hint: str | None = None


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        value = msgspec.json.decode(value or b"{}")
    return dict(value or {})


async def get_grant(org_id: UUID, grant_id: UUID) -> BenefitGrantOut:
    """One grant, live or revoked, as the API returns it."""
    row = (
        await BenefitGrant.select(*BenefitGrant.all_columns(), BenefitGrant.benefit.type)
        .where(BenefitGrant.org == org_id, BenefitGrant.id == grant_id)
        .first()
    )
    if row is None:
        raise NotFound(f"no benefit grant {grant_id}")
    return BenefitGrantOut.of(row)


async def sync_grants(org_id: UUID, subscription: Subscription) -> None:
    """Grant what the subscription's product gives and revoke the rest; inside the caller's transaction.
    Each ``benefit_grant.*`` event carries the grant as the API returns it."""
    wanted: dict[str, str] = {}
    if subscription.status in ENTITLED:
        rows = await ProductBenefit.select(ProductBenefit.benefit, ProductBenefit.benefit.type).where(
            ProductBenefit.org == org_id,
            ProductBenefit.product == subscription.product,
            ProductBenefit.benefit.archived_at.is_null(),
        )
        wanted = {str(r["benefit"]): r["benefit.type"] for r in rows}
    live = await BenefitGrant.select(
        BenefitGrant.id,
        BenefitGrant.customer,
        BenefitGrant.benefit,
        BenefitGrant.subscription,
        BenefitGrant.order,
        BenefitGrant.granted_at,
        BenefitGrant.benefit.type,
    ).where(
        BenefitGrant.org == org_id,
        BenefitGrant.subscription == subscription.id,
        BenefitGrant.revoked_at.is_null(),
    )
    now = clock.now()
    for grant in live:
        if str(grant["benefit"]) not in wanted:
            await BenefitGrant.update({BenefitGrant.revoked_at: now}).where(BenefitGrant.id == grant["id"])
            revoked = BenefitGrantOut.of({**grant, "revoked_at": now})
            await record_event(org_id, "benefit_grant.revoked", revoked)
    held = {str(g["benefit"]) for g in live}
    for benefit_id, benefit_type in wanted.items():
        if benefit_id not in held:
            grant = {"customer": subscription.customer, "subscription": subscription.id, "order": None}
            await _grant(org_id, grant, uuid.UUID(benefit_id), benefit_type)


async def _grant(org_id: UUID, grant: dict[str, Any], benefit_id: Any, benefit_type: str) -> None:
    """Save a new grant (``customer``, ``subscription``, ``order``) of a benefit and announce it."""
    created = {**grant, "id": uuid.uuid4(), "benefit": benefit_id, "granted_at": clock.now()}
    await BenefitGrant(org=org_id, **created).save()
    resource = {**created, "revoked_at": None, "benefit.type": benefit_type}
    await record_event(org_id, "benefit_grant.created", BenefitGrantOut.of(resource))


async def grant_purchase(org_id: UUID, order: Order, product_id: Any) -> None:
    """Give the benefits of a one-time product for good, tied to the order that bought it; inside the
    caller's transaction."""
    rows = await ProductBenefit.select(ProductBenefit.benefit, ProductBenefit.benefit.type).where(
        ProductBenefit.org == org_id,
        ProductBenefit.product == product_id,
        ProductBenefit.benefit.archived_at.is_null(),
    )
    for row in rows:
        grant = {"customer": order.customer, "subscription": None, "order": order.id}
        await _grant(org_id, grant, row["benefit"], row["benefit.type"])


def new_license_key(prefix: str | None) -> str:
    groups = ["".join(secrets.choice(_KEY_ALPHABET) for _ in range(5)) for _ in range(LICENSE_KEY_GROUPS)]
    return f"{prefix or 'LK'}-" + "-".join(groups)


async def list_grants(org_id: UUID, customer_id: UUID, *, keyring: Keyring | None = None) -> list[GrantView]:
    """The customer's live grants. With a keyring, license keys are shown (issued on first view)."""
    rows = (
        await BenefitGrant.select(
            *BenefitGrant.all_columns(),
            BenefitGrant.benefit.type,
            BenefitGrant.benefit.description,
            BenefitGrant.benefit.properties,
        )
        .where(
            BenefitGrant.org == org_id,
            BenefitGrant.customer == customer_id,
            BenefitGrant.revoked_at.is_null(),
        )
        .order_by(BenefitGrant.granted_at)
    )
    views = []
    for row in rows:
        properties = _json(row["benefit.properties"])
        view = GrantView(
            id=row["id"],
            benefit_id=row["benefit"],
            subscription_id=row["subscription"],
            type=row["benefit.type"],
            description=row["benefit.description"],
            properties=properties,
            granted_at=row["granted_at"],
        )
        if view.type == BenefitType.LICENSE_KEY and keyring is not None:
            view.license_key = await _license_key(keyring, row, properties.get("prefix"))
        elif view.type == BenefitType.API_KEY:
            view.api_key_hint = row["secret_hint"] or None
        views.append(view)
    return views


async def _license_key(keyring: Keyring, row: dict[str, Any], prefix: str | None) -> str:
    if row["secret_encrypted"]:
        return keyring.box.decrypt(row["secret_encrypted"])
    key = new_license_key(prefix)
    async with write_transaction():
        issued = await BenefitGrant.raw(
            "UPDATE ss_benefit_grant SET secret_encrypted = {}, secret_hash = {}, secret_hint = {} "
            "WHERE id = {} AND secret_encrypted IS NULL RETURNING id",
            keyring.box.encrypt(key),
            sha256_hex(key),
            key[-4:],
            row["id"],
        )
    if issued:
        return key
    stored = (
        await BenefitGrant.select(BenefitGrant.secret_encrypted).where(BenefitGrant.id == row["id"]).first()
    )
    assert stored is not None
    return keyring.box.decrypt(stored["secret_encrypted"])  # another request issued it first


async def regenerate_api_key(org_id: UUID, grant_id: UUID, *, customer_id: UUID | None = None) -> str:
    """A new API key for an ``api_key`` grant, returned once; the previous key stops working."""
    query = BenefitGrant.select(
        BenefitGrant.id, BenefitGrant.benefit.type, BenefitGrant.benefit.properties
    ).where(BenefitGrant.org == org_id, BenefitGrant.id == grant_id, BenefitGrant.revoked_at.is_null())
    if customer_id is not None:
        query = query.where(BenefitGrant.customer == customer_id)
    row = await query.first()
    if row is None:
        raise NotFound(f"no live grant {grant_id}")
    if row["benefit.type"] != BenefitType.API_KEY:
        raise Invalid("only api_key grants have an API key to regenerate")
    prefix = _json(row["benefit.properties"]).get("prefix") or "key"
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    async with write_transaction():
        await BenefitGrant.update(
            {BenefitGrant.secret_hash: sha256_hex(key), BenefitGrant.secret_hint: key[-4:]}
        ).where(BenefitGrant.id == grant_id)
    return key


async def validate_key(org_id: UUID, key: str) -> BenefitGrantOut:
    """The live grant a license key or API key belongs to, for a merchant's app checking the key a customer
    presents. Only the key's hash is looked up."""
    row = (
        await BenefitGrant.select(*BenefitGrant.all_columns(), BenefitGrant.benefit.type)
        .where(
            BenefitGrant.org == org_id,
            BenefitGrant.secret_hash == sha256_hex(key),
            BenefitGrant.revoked_at.is_null(),
        )
        .first()
    )
    if row is None:
        raise NotFound("no live benefit grant holds this key")
    return BenefitGrantOut.of(row)
