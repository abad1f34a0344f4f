"""Metering: usage events stored once each (idempotent by ``event_id``) and rolled up per customer, meter
and hour; what usage reports, alerts, caps and renewals read. The ``usage`` package builds on it."""
