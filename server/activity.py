"""Who is acting, and the activity log it leaves.

Every state change already writes its webhook event through ``outbox.record_event``; that same call writes
one activity entry for the customer concerned, naming the actor: the customer (portal actions run inside
``acting_as(Actor.CUSTOMER, session_id)``), the merchant (the API, the default) or the system (background
jobs). Entries keep ids and statuses only, never personal data. What staff do for a customer that
changes no resource (``CONSOLE_EVENTS``) is noted by ``record_staff_action``.

Writes to the merchant's own settings (``MERCHANT_EVENTS``: keys, webhook endpoints, portal settings,
sign-in providers, the team) concern no customer: their services call ``record_merchant_activity``, which
names who did it, a staff member in the console or an API key (``acting_by``, set as each request is
authenticated)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar.types import ASGIApp, Receive, Scope, Send

from server import clock
from server.db.tables import PortalEvent, Subscription
from server.enums import Actor

KEPT_FIELDS = (
    "id",
    "status",
    "subscription_id",
    "product_id",
    "price_id",
    "pending_price_id",
    "seats",
    "action",
    "cancel_at_period_end",
    "is_default",
    "total",
    "currency",
    "refunded_amount",
    "provider",
)

CONSOLE_EVENTS = ("console.portal_link_sent", "console.portal_viewed")
"""What a staff member did for a customer in the console without changing anything."""

MERCHANT_EVENTS = (
    "api_key.created",
    "api_key.revoked",
    "webhook_endpoint.created",
    "webhook_endpoint.updated",
    "webhook_endpoint.deleted",
    "webhook_endpoint.secret_rotated",
    "webhook_endpoint.test_sent",
    "webhook_delivery.redelivered",
    "portal_settings.updated",
    "retention_settings.updated",
    "oauth_provider.set",
    "oauth_provider.removed",
    "staff.added",
    "staff.removed",
)
"""Merchant-level writes, kept as activity entries without a customer."""

_actor: ContextVar[tuple[Actor, UUID | None]] = ContextVar("selfserve_actor", default=(Actor.MERCHANT, None))


@dataclass
class _Acting:
    staff_id: UUID | None = None
    api_key: str = ""


_by: ContextVar[_Acting | None] = ContextVar("selfserve_by", default=None)


def acting_middleware(app: ASGIApp) -> ASGIApp:
    """Each request starts with nobody named. A holder, not a value, because the API names its key in a
    dependency, which Litestar may resolve in a task of its own (a copy of this context)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        token = _by.set(_Acting())
        try:
            await app(scope, receive, send)
        finally:
            _by.reset(token)

    return middleware


def acting_by(*, staff_id: UUID | None = None, api_key: str = "") -> None:
    """Name who sends the current request: a console staff member or an API key (its display prefix).
    Set by the console's sign-in guard and the API's authentication for the rest of the request."""
    acting = _by.get()
    if acting is None:
        _by.set(_Acting(staff_id, api_key))
    else:
        acting.staff_id, acting.api_key = staff_id, api_key


@contextlib.contextmanager
def acting_as(actor: Actor, session_id: UUID | None = None) -> Iterator[None]:
    token = _actor.set((actor, session_id))
    try:
        yield
    finally:
        _actor.reset(token)


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


async def _customer_of(event_type: str, data: dict[str, Any]) -> UUID | None:
    if event_type.startswith("customer.") and "customer_id" not in data:
        return _uuid(data.get("id"))
    if "customer_id" in data:
        return _uuid(data["customer_id"])
    subscription_id = _uuid(data.get("subscription_id"))
    if subscription_id is None:
        return None
    row = await Subscription.select(Subscription.customer).where(Subscription.id == subscription_id).first()
    return _uuid(row["customer"]) if row else None


async def record_activity(org_id: UUID, event_type: str, data: dict[str, Any]) -> None:
    """One activity entry for the customer ``data`` concerns (none for org-level events). Called by
    ``record_event`` inside the caller's transaction."""
    customer_id = await _customer_of(event_type, data)
    if customer_id is None:
        return
    actor, session_id = _actor.get()
    await PortalEvent(
        org=org_id,
        customer=customer_id,
        session=session_id,
        actor=actor,
        name=event_type,
        properties={key: data[key] for key in KEPT_FIELDS if key in data},
        created_at=clock.now(),
    ).save()


async def record_staff_action(org_id: UUID, customer_id: UUID, name: str, staff_id: UUID) -> None:
    """One activity entry for what a staff member did for the customer (one of ``CONSOLE_EVENTS``)."""
    if name not in CONSOLE_EVENTS:
        raise ValueError(f"unknown console event {name!r}")
    await PortalEvent(
        org=org_id,
        customer=customer_id,
        actor=Actor.MERCHANT,
        staff=staff_id,
        name=name,
        created_at=clock.now(),
    ).save()


async def record_merchant_activity(org_id: UUID, name: str, **properties: str) -> None:
    """One activity entry of the merchant's own (one of ``MERCHANT_EVENTS``), naming who acted."""
    if name not in MERCHANT_EVENTS:
        raise ValueError(f"unknown merchant event {name!r}")
    acting = _by.get() or _Acting()
    staff_id, api_key = acting.staff_id, acting.api_key
    await PortalEvent(
        org=org_id,
        actor=Actor.MERCHANT,
        staff=staff_id,
        name=name,
        properties={**properties, **({"api_key": api_key} if api_key else {})},
        created_at=clock.now(),
    ).save()
