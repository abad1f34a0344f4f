"""What the portal tells the embedding page alongside a view (loader events in ``x-selfserve-events``):
usage alerts and spend caps reached since it last told, and orders waiting for the customer to confirm
their payment. Asked on every view, and nearly always there is nothing: one indexed read says so."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server.billing import orders
from server.db.point_reads import read_one
from server.enums import OrderStatus
from server.usage import spend_caps, usage_alerts

_ANY_NEWS = (
    "SELECT EXISTS (SELECT 1 FROM ss_usage_alert_hit WHERE customer = {} AND announced_at IS NULL)"
    " OR EXISTS (SELECT 1 FROM ss_spend_cap_hit WHERE customer = {} AND announced_at IS NULL)"
    " OR EXISTS (SELECT 1 FROM ss_order WHERE customer = {} AND status = {} AND awaits_confirmation)"
    " AS news"
)
"""Whether any of the three may have something to say; the orders part only finds candidates, the rule
stays ``orders.awaits_confirmation``."""


async def for_view(org_id: UUID, customer_id: UUID) -> list[dict[str, Any]]:
    """The loader events to hand over now; alerts and caps are marked told."""
    row = await read_one(_ANY_NEWS, customer_id, customer_id, customer_id, OrderStatus.PENDING.value)
    if row is None or not row["news"]:
        return []
    return [
        *await usage_alerts.announce_hits(org_id, customer_id),
        *await spend_caps.announce_hits(org_id, customer_id),
        *[
            {"type": "order.confirmation_required", "data": {"id": str(o.id), "status": o.status}}
            for o in await orders.awaiting_confirmation(org_id, customer_id)
        ],
    ]
