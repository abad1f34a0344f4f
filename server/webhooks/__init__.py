"""Webhooks, Standard Webhooks v1 (CONTRACT §8).

- ``outbox``: ``record_event(org_id, type, data)`` inside the caller's ``write_transaction()``; the event and
  one pending delivery per subscribed, enabled endpoint commit with the state change.
- ``endpoints``: the merchant API's service (endpoints, secrets shown once and rotated with a 24 h overlap,
  the delivery log, redelivery).
- ``signing``: ``whsec_`` secrets, the ``{"type", "timestamp", "data"}`` body, ``webhook-*`` headers.
- ``delivery`` (the ``webhook-delivery`` job in ``server.jobs``): leases, sends through the SSRF guard
  (``server.security.ssrf``), retries with backoff, disables failing endpoints.

Receivers: verify with any Standard Webhooks library using the endpoint's secret; deduplicate on
``webhook-id`` (the event id, identical on every retry and redelivery).
"""
