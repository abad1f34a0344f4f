"""A real SMTP server (aiosmtpd) to send to, and a helper to drive the ``email`` job."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage as MimeMessage
from typing import Any

from aiosmtpd.controller import Controller

from server.mail.sending import send_due_emails
from server.worker import JobContext


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.unknown_users: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.unknown_users:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def received_by(self, address: str) -> list[MimeMessage]:
        """Messages for ``address`` (other tests' queued mail may reach this server too)."""
        return [
            message_from_bytes(e.content, policy=policy.default)
            for e in self.envelopes
            if address in e.rcpt_tos
        ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_smtp(port: int, **smtp_options: Any) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    return controller, inbox


async def drain(context: JobContext) -> None:
    """Run the job until nothing is due (failures are rescheduled, so this ends)."""
    while await send_due_emails(context):
        pass
