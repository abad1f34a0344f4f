"""Customers: create, read, list, update, archive, and an email change once its link is confirmed.
API: ``/v1/customers``."""
