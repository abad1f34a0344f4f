"""Helpers shared by the webhook integration tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server import clock
from server.db.tables import WebhookDelivery
from server.webhooks.delivery import deliver_due, drain
from server.worker import JobContext


async def deliver_until_settled(
    context: JobContext, org_id: Any, *, step: Callable[[], Any] | None = None, rounds: int = 400
) -> int:
    """Run the delivery job until none of ``org_id``'s deliveries is due. With ``step`` (moving a
    FrozenClock), time moves forward between rounds so retries come due. Returns the rounds used."""
    for n in range(1, rounds + 1):
        await deliver_due(context, org_id=org_id)
        await drain()
        pending = WebhookDelivery.status == "pending"
        if not await WebhookDelivery.exists().where(WebhookDelivery.org == org_id, pending):
            return n
        if step is not None:
            step()
        elif not await WebhookDelivery.exists().where(
            WebhookDelivery.org == org_id, pending, WebhookDelivery.next_attempt_at <= clock.now()
        ):
            return n
    raise AssertionError(f"deliveries still due after {rounds} rounds")


async def statuses(org_id: Any) -> dict[str, int]:
    rows = await WebhookDelivery.select(WebhookDelivery.status).where(WebhookDelivery.org == org_id)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts
