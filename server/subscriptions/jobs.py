"""Subscriptions' background jobs (listed in ``server.jobs``): renewals, and seat invitations that ran
out. Each does one bounded batch and is safe to re-run after a crash halfway."""

from __future__ import annotations

from server.subscriptions import seats
from server.subscriptions import service as subscriptions
from server.worker import JobContext


async def renew_subscriptions(context: JobContext) -> int:
    """Renew, or end, subscriptions whose period is over (never billing a period twice)."""
    return await subscriptions.renew_due_subscriptions()


async def expire_seat_invitations(context: JobContext) -> int:
    return await seats.expire_invitations()
