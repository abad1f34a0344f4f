"""Billing: orders with their invoices, refunds and credit notes (``orders``), card payments and dunning
(``payments``, ``cards``), the one way a subscription row changes (``lifecycle``, shared by orders,
payments and the subscriptions package), the payment providers (``providers``: the sandbox and Stripe)
with Stripe's signed events (``stripe_events``), and invoice PDFs. API: ``/v1/orders``,
``/v1/customers/{id}/payment-methods``, ``/v1/payment-provider``, ``/webhooks/stripe/{org}``."""
