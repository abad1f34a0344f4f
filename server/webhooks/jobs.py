"""The webhook jobs, registered with the worker (imported by ``server.worker.load_jobs``)."""

from server.webhooks.delivery import deliver_due, drain
from server.worker import Job, register

register(Job("webhook-delivery", deliver_due, idle_seconds=1.0, drain=drain))
