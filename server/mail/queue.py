"""Queueing an email: render it now, store it encrypted, send it later from the worker (``sending.py``).

``queue_email`` belongs INSIDE the caller's ``write_transaction()``: the message commits with the change it
announces, so a rolled-back change sends nothing, and no HTTP request ever waits on SMTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.db.tables import EmailMessage, Organization
from server.enums import EmailStatus
from server.errors import Invalid, NotFound
from server.mail.render import mail_branding, render_email
from server.schemas.common import EMAIL_PATTERN
from server.schemas.portal_settings import EmailSettings, load_portal_settings
from server.security.keyring import Keyring

_ADDRESS = re.compile(EMAIL_PATTERN)
MAX_ADDRESS = 320
MAX_SUBJECT = 300
MAX_SENDER_NAME = 200
MAX_INTRO = 500


class MailContent(msgspec.Struct, frozen=True, kw_only=True):
    """What a message says and who it is from; stored encrypted as a whole in ``body_encrypted``."""

    html: str
    text: str
    sender_name: str
    reply_to: str | None = None


def check_address(value: str, field: str) -> str:
    address = value.strip()
    if len(address) > MAX_ADDRESS or not _ADDRESS.match(address):
        raise Invalid(f"{field} is not a valid email address")
    return address


def _check_line(value: str, field: str, max_length: int) -> str:
    """A header value: one line (no header injection), not empty, not too long."""
    line = value.strip()
    if not line or len(line) > max_length or "\r" in line or "\n" in line:
        raise Invalid(f"{field} must be one line of 1 to {max_length} characters")
    return line


async def queue_email(
    keyring: Keyring,
    org_id: UUID,
    *,
    to: str,
    subject: str,
    template: str,
    context: Mapping[str, Any],
    reply_to: str | None = None,
    sender_name: str | None = None,
    intro: str | None = None,
) -> EmailMessage:
    """Render ``template`` (see ``server.mail.render.EMAIL_TEMPLATES``) in the org's branding and queue it
    for ``to``. Sender name, reply-to and the short intro above the message come from the merchant's portal
    settings (``email``) unless given; the sender name falls back to the org's name."""
    org = await Organization.objects().where(Organization.id == org_id).first()
    if org is None:
        raise NotFound("organization not found")
    settings = load_portal_settings(org)
    intro = settings.email.intro if intro is None else intro
    reply_to = reply_to or settings.email.reply_to
    sender_name = sender_name or settings.email.sender_name
    if len(intro) > MAX_INTRO:
        raise Invalid(f"intro must be at most {MAX_INTRO} characters")
    brand = mail_branding(org.name, settings.branding, intro)
    rendered = render_email(template, context, brand)
    content = MailContent(
        html=rendered.html,
        text=rendered.text,
        sender_name=_check_line(sender_name or org.name, "sender_name", MAX_SENDER_NAME),
        reply_to=check_address(reply_to, "reply_to") if reply_to else None,
    )
    now = clock.now()
    message = EmailMessage(
        org=org_id,
        to_address=check_address(to, "to"),
        subject=_check_line(subject, "subject", MAX_SUBJECT),
        body_encrypted=keyring.box.encrypt(msgspec.json.encode(content).decode()),
        status=EmailStatus.QUEUED,
        next_attempt_at=now,
        created_at=now,
    )
    await message.save()
    return message


def check_email_settings(settings: EmailSettings) -> None:
    """Refuse portal email settings that could not be sent (line breaks in headers, a bad address)."""
    if settings.sender_name is not None:
        _check_line(settings.sender_name, "email.sender_name", MAX_SENDER_NAME)
    if settings.reply_to is not None:
        check_address(settings.reply_to, "email.reply_to")
    if len(settings.intro) > MAX_INTRO:
        raise Invalid(f"email.intro must be at most {MAX_INTRO} characters")


def read_content(keyring: Keyring, body_encrypted: str) -> MailContent:
    """The decrypted bodies and sender details of a stored message."""
    return msgspec.json.decode(keyring.box.decrypt(body_encrypted), type=MailContent)
