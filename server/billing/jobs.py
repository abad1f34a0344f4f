"""Billing's background jobs (listed in ``server.jobs``). Each does one bounded batch and is safe to re-run
after a crash halfway."""

from __future__ import annotations

from server.billing import orders, stripe_events
from server.worker import JobContext


async def retry_due_payments(context: JobContext) -> int:
    """Dunning: charge the failed orders whose next attempt is due. Each attempt is claimed first, so two
    workers, or a re-run after a crash, never charge one order twice."""
    due = await orders.due_payment_attempts()
    for org_id, order_id in due:
        await orders.attempt_payment(org_id, order_id)
    return len(due)


async def reconcile_stripe_payments(context: JobContext) -> int:
    """Payments whose Stripe event never arrived (``server.billing.stripe_events``)."""
    return await stripe_events.reconcile_payments()
