"""Billing's background jobs (listed in ``server.jobs``). Each does one bounded batch and is safe to re-run
after a crash halfway."""

from __future__ import annotations

from server.services import orders, seats, stripe_events, subscriptions, wallet
from server.worker import JobContext


async def renew_subscriptions(context: JobContext) -> int:
    """Renew, or end, subscriptions whose period is over (never billing a period twice)."""
    return await subscriptions.renew_due_subscriptions()


async def expire_seat_invitations(context: JobContext) -> int:
    return await seats.expire_invitations()


async def retry_due_payments(context: JobContext) -> int:
    """Dunning: charge the failed orders whose next attempt is due. Each attempt is claimed first, so two
    workers, or a re-run after a crash, never charge one order twice."""
    due = await orders.due_payment_attempts()
    for org_id, order_id in due:
        await orders.attempt_payment(org_id, order_id)
    return len(due)


async def reconcile_stripe_payments(context: JobContext) -> int:
    """Payments whose Stripe event never arrived (``server.services.stripe_events``)."""
    return await stripe_events.reconcile_payments()


async def expire_wallet_credits(context: JobContext) -> int:
    return await wallet.expire_credits()
