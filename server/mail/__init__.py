"""Outgoing email: ``queue_email`` inside the caller's transaction; the ``email`` worker job sends it."""

from server.mail.queue import queue_email
from server.mail.render import EMAIL_TEMPLATES

__all__ = ["EMAIL_TEMPLATES", "queue_email"]
