"""The usage tests take the portal's sessions, the webhook tests' receiver set-up and the mail tests' SMTP
server as they are."""

from tests.integration.mail.conftest import inbox, smtp_context, smtp_port
from tests.integration.portal.conftest import customer, mint, open_session
from tests.integration.webhooks.conftest import job_context, local_client, local_settings, make_endpoint

__all__ = [
    "customer",
    "inbox",
    "job_context",
    "local_client",
    "local_settings",
    "make_endpoint",
    "mint",
    "open_session",
    "smtp_context",
    "smtp_port",
]
