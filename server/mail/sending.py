"""The ``email`` worker job: lease due messages, send them, record the outcome.

A lease is a conditional UPDATE of ``locked_until``: of two workers that pick the same message, only one
sees its row updated, so no message is sent twice by two workers. A failed send is retried with backoff
(``RETRY_DELAYS``) and then marked ``failed``; a recipient the server refuses for good fails at once.
Logs carry message ids and file paths, never a body, a subject or an address: bodies carry sign-in links.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.headerregistry import Address
from typing import Any
from uuid import UUID

import aiosmtplib

from server import clock
from server.db.tables import EmailMessage
from server.enums import EmailStatus
from server.mail.queue import MailContent, read_content
from server.mail.transport import build_mime, parse_smtp_url, send_smtp, sender_address, write_outbox
from server.worker import JobContext

log = logging.getLogger("selfserve.mail")

BATCH_SIZE = 20
LEASE = timedelta(minutes=5)
"""Longer than one SMTP exchange can take, so a lease never runs out under a live sender."""
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    *(timedelta(hours=1),) * 24,
)
"""Pause before retry n (after failure n); after the last one the message is ``failed``."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def _due(now: datetime) -> Any:
    return (
        (EmailMessage.status == EmailStatus.QUEUED)
        & (EmailMessage.next_attempt_at <= now)
        & (EmailMessage.locked_until.is_null() | (EmailMessage.locked_until < now))
    )


async def lease_due_messages(limit: int = BATCH_SIZE) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due messages; rows another worker leased first are left out."""
    now = clock.now()
    candidates = await (
        EmailMessage.select(EmailMessage.id)
        .where(_due(now))
        .order_by(EmailMessage.next_attempt_at)
        .limit(limit)
    )
    if not candidates:
        return []
    leased = await (
        EmailMessage.update({EmailMessage.locked_until: now + LEASE})
        .where(_due(now) & EmailMessage.id.is_in([row["id"] for row in candidates]))
        .returning(EmailMessage.id)
    )
    if not leased:
        return []
    rows: list[dict[str, Any]] = await (
        EmailMessage.select(
            EmailMessage.id,
            EmailMessage.to_address,
            EmailMessage.subject,
            EmailMessage.body_encrypted,
            EmailMessage.attempts,
            EmailMessage.org.name,
            EmailMessage.org.support_email,
        )
        .where(EmailMessage.id.is_in([row["id"] for row in leased]))
        .order_by(EmailMessage.next_attempt_at)
        .output(nested=True)
    )
    return rows


async def _deliver(context: JobContext, row: dict[str, Any], content: MailContent) -> None:
    settings = context.settings
    sender = Address(
        display_name=content.sender_name,
        addr_spec=sender_address(row["org"]["support_email"], settings.public_url),
    )
    message_id = str(row["id"])
    mime = build_mime(
        message_id=message_id,
        sender=sender,
        to=row["to_address"],
        subject=row["subject"],
        content=content,
        date=clock.now(),
    )
    if settings.smtp_url:
        await send_smtp(parse_smtp_url(settings.smtp_url), mime)
        log.info("email %s sent over SMTP", message_id)
    else:
        path = await write_outbox(settings.data_dir / "outbox", message_id, mime)
        log.info("email %s written to %s (no SELFSERVE_SMTP_URL set)", message_id, path)


async def _record_sent(message_id: UUID, attempts: int) -> None:
    await EmailMessage.update(
        {
            EmailMessage.status: EmailStatus.SENT,
            EmailMessage.attempts: attempts,
            EmailMessage.sent_at: clock.now(),
            EmailMessage.locked_until: None,
            EmailMessage.last_error: "",
        }
    ).where(EmailMessage.id == message_id)


def _is_permanent(error: Exception) -> bool:
    """The server refused the recipient for good (5xx): no retry can help."""
    return isinstance(error, aiosmtplib.SMTPRecipientsRefused) and all(
        r.code >= 500 for r in error.recipients
    )


async def _record_failure(message_id: UUID, attempts: int, error: Exception) -> None:
    now = clock.now()
    reason = f"{type(error).__name__}: {error}"[:500]
    if attempts >= MAX_ATTEMPTS or _is_permanent(error):
        changes: dict[Any, Any] = {EmailMessage.status: EmailStatus.FAILED}
        log.error(
            "email %s failed for good after %d attempt(s) (%s)", message_id, attempts, type(error).__name__
        )
    else:
        retry_at = now + RETRY_DELAYS[attempts - 1]
        changes = {EmailMessage.next_attempt_at: retry_at}
        log.warning(
            "email %s attempt %d failed (%s); retrying at %s",
            message_id,
            attempts,
            type(error).__name__,
            retry_at.isoformat(),
        )
    await EmailMessage.update(
        {
            **changes,
            EmailMessage.attempts: attempts,
            EmailMessage.locked_until: None,
            EmailMessage.last_error: reason,
        }
    ).where(EmailMessage.id == message_id)


async def send_due_emails(context: JobContext) -> int:
    """Send one batch of due messages; return how many were attempted."""
    rows = await lease_due_messages()
    for row in rows:
        attempts = row["attempts"] + 1
        try:
            await _deliver(context, row, read_content(context.keyring, row["body_encrypted"]))
        except Exception as exc:  # any failure is recorded and retried; the worker carries on
            await _record_failure(row["id"], attempts, exc)
        else:
            await _record_sent(row["id"], attempts)
    return len(rows)
