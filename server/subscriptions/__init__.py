"""Subscriptions as customers and merchants change them: create, cancel, uncancel, change plan or
seats, pause, renew (``service``), the seats of a seat-based plan and their invitations, and the
renewal jobs. How a subscription row itself changes is ``server.billing.lifecycle``, shared with
orders and payments. API: ``/v1/subscriptions``, ``/v1/customer-seats``."""
