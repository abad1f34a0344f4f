"""Billing's background jobs. Each does one bounded batch and is safe to re-run after a crash halfway."""

from __future__ import annotations

from server.services import orders, seats, stripe_events, subscriptions, wallet
from server.worker import Job, JobContext, register


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


register(Job("billing.renewals", renew_subscriptions, idle_seconds=30))
register(Job("billing.seat_invite_expiry", expire_seat_invitations, idle_seconds=300))
register(Job("billing.dunning", retry_due_payments, idle_seconds=60.0))
register(Job("billing.credit_expiry", expire_wallet_credits, idle_seconds=300))
register(Job("billing.stripe_reconcile", reconcile_stripe_payments, idle_seconds=300))
