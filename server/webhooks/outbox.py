"""The transactional outbox: a state change and the events describing it commit together.

``record_event`` must be called inside the caller's ``write_transaction()``; it writes the event and one
pending delivery per enabled endpoint subscribed to its type. The delivery worker sends them later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.activity import record_activity
from server.db.tables import WebhookDelivery, WebhookEndpoint, WebhookEvent

EVENT_TYPES = (
    "subscription.created",
    "subscription.updated",
    "subscription.canceled",
    "subscription.uncanceled",
    "subscription.revoked",
    "subscription.retention_offer_accepted",
    "subscription.retention_offer_declined",
    "customer.created",
    "customer.updated",
    "customer.deletion_requested",
    "customer.deleted",
    "customer_seat.assigned",
    "customer_seat.claimed",
    "customer_seat.revoked",
    "order.created",
    "order.paid",
    "order.refunded",
    "payment_method.updated",
    "benefit_grant.created",
    "benefit_grant.revoked",
    "webhook_endpoint.disabled",
    "usage.threshold_reached",
    "usage.cap_reached",
)


def _load_list(value: Any) -> list[str]:
    if isinstance(value, str):
        decoded: list[str] = msgspec.json.decode(value)
        return decoded
    return list(value or [])


async def record_event(
    org_id: UUID,
    type: str,
    data: msgspec.Struct | dict[str, Any],
    *,
    details: Mapping[str, str] | None = None,
) -> WebhookEvent:
    """Write ``type`` with ``data`` and fan it out to the org's subscribed endpoints. The services pass the
    resource as the API returns it (its ``*Out`` Struct), encoded by the same msgspec encoder. ``details``
    say more about the change in the activity log only."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    now = clock.now()
    event = WebhookEvent(org=org_id, type=type, payload=msgspec.json.encode(data).decode(), created_at=now)
    await event.save()
    await record_activity(org_id, type, {**msgspec.to_builtins(data), **(details or {})})
    endpoints = await WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.org == org_id, WebhookEndpoint.enabled.eq(True)
    )
    deliveries = [
        WebhookDelivery(org=org_id, event=event.id, endpoint=e["id"], next_attempt_at=now, created_at=now)
        for e in endpoints
        if not _load_list(e["event_types"]) or type in _load_list(e["event_types"])
    ]
    if deliveries:
        await WebhookDelivery.insert(*deliveries)
    return event
