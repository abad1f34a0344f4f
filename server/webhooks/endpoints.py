"""Webhook endpoints and their delivery log, as the merchant API sees them.

Secrets are encrypted at rest and returned only by ``create_endpoint`` and ``rotate_secret``. After a rotation
the previous secret keeps signing (beside the new one) for ``ROTATION_OVERLAP``, so receivers can switch over.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.activity import record_merchant_activity
from server.db.engine import write_transaction
from server.db.pagination import Page, paginate
from server.db.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.enums import DeliveryStatus
from server.errors import Conflict, Invalid, NotFound
from server.security.keyring import Keyring
from server.security.ssrf import check_outgoing_url
from server.webhooks.outbox import EVENT_TYPES
from server.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from server.webhooks.signing import generate_secret

ROTATION_OVERLAP = timedelta(hours=24)
TEST_EVENT = "webhook_endpoint.test"
"""What ``send_test_event`` sends: ``{"endpoint_id": …}``; no endpoint subscribes to it."""


def _event_types(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise Invalid(f"unknown event types: {', '.join(unknown)}", allowed=list(EVENT_TYPES))
    return sorted(set(value))


async def get_endpoint(org_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
    endpoint = (
        await WebhookEndpoint.objects()
        .where(WebhookEndpoint.org == org_id, WebhookEndpoint.id == endpoint_id)
        .first()
    )
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


async def create_endpoint(
    org_id: UUID, keyring: Keyring, data: WebhookEndpointCreate, *, allow_local: bool
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, which is shown this once."""
    url = await check_outgoing_url(data.url, allow_local=allow_local)
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        org=org_id,
        url=url,
        description=data.description,
        event_types=_event_types(data.event_types),
        enabled=data.enabled,
        secret_encrypted=keyring.box.encrypt(secret),
        created_at=clock.now(),
    )
    async with write_transaction():
        await endpoint.save()
        await record_merchant_activity(org_id, "webhook_endpoint.created", id=str(endpoint.id), url=url)
    return await get_endpoint(org_id, endpoint.id), secret


async def list_endpoints(org_id: UUID, *, limit: int, cursor: str | None = None) -> Page[WebhookEndpoint]:
    query = WebhookEndpoint.objects().where(WebhookEndpoint.org == org_id)
    return await paginate(query, WebhookEndpoint, limit=limit, cursor=cursor)


async def update_endpoint(
    org_id: UUID, endpoint_id: UUID, data: WebhookEndpointUpdate, *, allow_local: bool
) -> WebhookEndpoint:
    """Change some fields; enabling an endpoint again clears its failure count and reason."""
    changes: dict[Any, Any] = {}
    if data.url is not None:
        changes[WebhookEndpoint.url] = await check_outgoing_url(data.url, allow_local=allow_local)
    if data.event_types is not None:
        changes[WebhookEndpoint.event_types] = _event_types(data.event_types)
    if data.description is not None:
        changes[WebhookEndpoint.description] = data.description
    if data.enabled is not None:
        changes[WebhookEndpoint.enabled] = data.enabled
        if data.enabled:
            changes[WebhookEndpoint.consecutive_failures] = 0
            changes[WebhookEndpoint.disabled_reason] = ""
    async with write_transaction():
        await get_endpoint(org_id, endpoint_id)
        if changes:
            await WebhookEndpoint.update(changes).where(
                WebhookEndpoint.org == org_id, WebhookEndpoint.id == endpoint_id
            )
            await record_merchant_activity(org_id, "webhook_endpoint.updated", id=str(endpoint_id))
    return await get_endpoint(org_id, endpoint_id)


async def delete_endpoint(org_id: UUID, endpoint_id: UUID) -> None:
    """Delete an endpoint with its delivery log."""
    async with write_transaction():
        await get_endpoint(org_id, endpoint_id)
        await WebhookEndpoint.delete().where(WebhookEndpoint.org == org_id, WebhookEndpoint.id == endpoint_id)
        await record_merchant_activity(org_id, "webhook_endpoint.deleted", id=str(endpoint_id))


async def rotate_secret(org_id: UUID, keyring: Keyring, endpoint_id: UUID) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned, shown once); the current one keeps signing beside it for the overlap."""
    secret = generate_secret()
    async with write_transaction():
        endpoint = await get_endpoint(org_id, endpoint_id)
        await WebhookEndpoint.update(
            {
                WebhookEndpoint.secret_encrypted: keyring.box.encrypt(secret),
                WebhookEndpoint.previous_secret_encrypted: endpoint.secret_encrypted,
                WebhookEndpoint.previous_secret_expires_at: clock.now() + ROTATION_OVERLAP,
            }
        ).where(WebhookEndpoint.org == org_id, WebhookEndpoint.id == endpoint_id)
        await record_merchant_activity(org_id, "webhook_endpoint.secret_rotated", id=str(endpoint_id))
    return await get_endpoint(org_id, endpoint_id), secret


def signing_secrets(keyring: Keyring, endpoint: dict[str, Any]) -> list[str]:
    """The secrets a delivery to ``endpoint`` is signed with now: the current one, plus the previous one
    while its rotation overlap lasts."""
    secrets = [keyring.box.decrypt(endpoint["secret_encrypted"])]
    expires = endpoint["previous_secret_expires_at"]
    if endpoint["previous_secret_encrypted"] and expires is not None and expires > clock.now():
        secrets.append(keyring.box.decrypt(endpoint["previous_secret_encrypted"]))
    return secrets


async def get_delivery(org_id: UUID, delivery_id: UUID) -> WebhookDelivery:
    """One delivery with its event prefetched."""
    delivery = (
        await WebhookDelivery.objects(WebhookDelivery.event)
        .where(WebhookDelivery.org == org_id, WebhookDelivery.id == delivery_id)
        .first()
    )
    if delivery is None:
        raise NotFound(f"no webhook delivery {delivery_id}")
    return delivery


async def list_deliveries(
    org_id: UUID,
    *,
    limit: int,
    cursor: str | None = None,
    endpoint_id: UUID | None = None,
    status: DeliveryStatus | None = None,
    newest_first: bool = False,
) -> Page[WebhookDelivery]:
    """Oldest (or newest) first, events prefetched, optionally for one endpoint and/or one status."""
    query = WebhookDelivery.objects(WebhookDelivery.event).where(WebhookDelivery.org == org_id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return await paginate(query, WebhookDelivery, limit=limit, cursor=cursor, newest_first=newest_first)


async def attempts_of(org_id: UUID, delivery_ids: list[UUID]) -> dict[str, list[WebhookAttempt]]:
    """Every attempt of these deliveries, oldest first, by delivery id."""
    found: dict[str, list[WebhookAttempt]] = {str(i): [] for i in delivery_ids}
    if delivery_ids:
        rows = await (
            WebhookAttempt.objects()
            .where(WebhookAttempt.org == org_id, WebhookAttempt.delivery.is_in(delivery_ids))
            .order_by(WebhookAttempt.attempted_at)
        )
        for attempt in rows:
            found[str(attempt.delivery)].append(attempt)
    return found


async def send_test_event(org_id: UUID, endpoint_id: UUID) -> WebhookDelivery:
    """A ``TEST_EVENT`` for this endpoint alone, whatever it subscribes to, delivered like any other."""
    now = clock.now()
    async with write_transaction():
        endpoint = await get_endpoint(org_id, endpoint_id)
        if not endpoint.enabled:
            raise Conflict("this endpoint is disabled: enable it first")
        event = WebhookEvent(
            org=org_id,
            type=TEST_EVENT,
            payload=msgspec.json.encode({"endpoint_id": str(endpoint_id)}).decode(),
            created_at=now,
        )
        await event.save()
        delivery = WebhookDelivery(
            org=org_id, event=event.id, endpoint=endpoint_id, next_attempt_at=now, created_at=now
        )
        await delivery.save()
        await record_merchant_activity(org_id, "webhook_endpoint.test_sent", id=str(endpoint_id))
    return await get_delivery(org_id, delivery.id)


async def redeliver(org_id: UUID, delivery_id: UUID) -> WebhookDelivery:
    """Send a delivery again now with a fresh set of attempts, whatever its status (same ``webhook-id``)."""
    now = clock.now()
    async with write_transaction():
        delivery = await get_delivery(org_id, delivery_id)
        endpoint = await get_endpoint(org_id, delivery.endpoint)
        if not endpoint.enabled:
            raise Conflict("this delivery's endpoint is disabled: enable it (PATCH enabled=true) first")
        reset = (
            await WebhookDelivery.update(
                {
                    WebhookDelivery.status: DeliveryStatus.PENDING,
                    WebhookDelivery.attempts: 0,
                    WebhookDelivery.next_attempt_at: now,
                    WebhookDelivery.locked_until: None,
                }
            )
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.locked_until.is_null() | (WebhookDelivery.locked_until <= now),
            )
            .returning(WebhookDelivery.id)
        )
        if not reset:
            raise Conflict("this delivery is being sent right now; try again in a minute")
        await record_merchant_activity(org_id, "webhook_delivery.redelivered", id=str(delivery_id))
    return await get_delivery(org_id, delivery_id)
