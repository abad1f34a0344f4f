"""Every background job, in one list: what ``selfserve worker`` and ``selfserve serve`` run (see
``server.worker`` for what a job must guarantee)."""

from __future__ import annotations

from server.billing import jobs as billing
from server.mail.sending import send_due_emails
from server.privacy.data_exports import build_exports_job
from server.subscriptions import jobs as subscriptions
from server.wallet import jobs as wallet
from server.webhooks.delivery import deliver_due, drain
from server.worker import Job

JOBS: list[Job] = [
    Job("billing.renewals", subscriptions.renew_subscriptions, idle_seconds=30),
    Job("billing.seat_invite_expiry", subscriptions.expire_seat_invitations, idle_seconds=300),
    Job("billing.dunning", billing.retry_due_payments, idle_seconds=60.0),
    Job("billing.credit_expiry", wallet.expire_wallet_credits, idle_seconds=300),
    Job("billing.stripe_reconcile", billing.reconcile_stripe_payments, idle_seconds=300),
    Job("email", send_due_emails, idle_seconds=5.0),
    Job("data_exports.build", build_exports_job, idle_seconds=2.0),
    Job("webhook-delivery", deliver_due, idle_seconds=1.0, drain=drain),
]
"""In the order ``run_once`` runs them: what billing queues (emails, events) goes out in the same pass."""
