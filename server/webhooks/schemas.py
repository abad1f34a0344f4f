"""Payloads of the webhook endpoint and delivery API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from server import clock
from server.db.tables import WebhookDelivery, WebhookEndpoint
from server.enums import DeliveryStatus
from server.schemas.common import json_value

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Description = Annotated[str, msgspec.Meta(max_length=200)]
EventTypes = Annotated[list[str], msgspec.Meta(max_length=64)]


class WebhookEndpointCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    event_types: EventTypes = msgspec.field(default_factory=list)
    """Types to receive; empty means every type."""
    description: Description = ""
    enabled: bool = True


class WebhookEndpointUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None
    """Enabling an endpoint again also clears its failure count."""


class WebhookEndpointOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str
    consecutive_failures: int
    previous_secret_expires_at: datetime | None
    created_at: datetime
    secret: str | None = None
    """Only in the answers to creation and rotation: store it, it is never shown again."""

    @classmethod
    def of(cls, row: WebhookEndpoint, secret: str | None = None) -> WebhookEndpointOut:
        expires = row.previous_secret_expires_at
        return cls(
            id=str(row.id),
            url=row.url,
            description=row.description,
            event_types=json_value(row.event_types) or [],
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            consecutive_failures=row.consecutive_failures,
            previous_secret_expires_at=expires if expires is not None and expires > clock.now() else None,
            created_at=row.created_at,
            secret=secret,
        )


class WebhookDeliveryOut(msgspec.Struct, kw_only=True):
    id: str
    endpoint_id: str
    event_id: str
    """Also the ``webhook-id`` header of every attempt."""
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    """When the next attempt is due (pending deliveries only)."""
    last_status_code: int | None
    last_error: str
    last_duration_ms: int | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookDelivery) -> WebhookDeliveryOut:
        """``row`` with its event prefetched (``WebhookDelivery.objects(WebhookDelivery.event)``)."""
        return cls(
            id=str(row.id),
            endpoint_id=str(row.endpoint),
            event_id=str(row.event.id),
            event_type=row.event.type,
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == DeliveryStatus.PENDING else None,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            last_duration_ms=row.last_duration_ms,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )
