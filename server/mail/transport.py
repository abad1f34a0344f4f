"""Turning a stored message into MIME and handing it over: to an SMTP server (``SELFSERVE_SMTP_URL``) or,
without one, to an ``.eml`` file in ``data_dir/outbox`` for development."""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from server.mail.queue import MailContent

SMTP_TIMEOUT_SECONDS = 30.0
_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class SmtpUrlError(ValueError):
    """``SELFSERVE_SMTP_URL`` is not ``smtp://[user:pass@]host[:port]`` or ``smtps://…``."""


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    """``smtps://``: TLS from the first byte. Otherwise STARTTLS is used whenever the server offers it."""

    def __repr__(self) -> str:  # never show the password in a log or traceback
        return (
            f"SmtpServer({self.hostname}:{self.port}, tls={'implicit' if self.implicit_tls else 'starttls'})"
        )


def parse_smtp_url(url: str) -> SmtpServer:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SmtpUrlError("SELFSERVE_SMTP_URL is not a valid URL") from exc
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise SmtpUrlError("SELFSERVE_SMTP_URL must look like smtp://user:pass@host:port or smtps://…")
    return SmtpServer(
        hostname=parts.hostname,
        port=port or _DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        implicit_tls=parts.scheme == "smtps",
    )


def sender_address(support_email: str, public_url: str) -> str:
    """The org's support address, or ``noreply@`` the public URL's host."""
    return support_email or f"noreply@{urlsplit(public_url).hostname or 'localhost'}"


def build_mime(
    *, message_id: str, sender: Address, to: str, subject: str, content: MailContent, date: datetime
) -> MimeMessage:
    """A multipart/alternative message: plain text first, HTML preferred by clients that can show it."""
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = to
    mime["Subject"] = subject
    if content.reply_to:
        mime["Reply-To"] = content.reply_to
    mime["Date"] = email.utils.format_datetime(date)
    mime["Message-ID"] = f"<{message_id}@{sender.domain or 'selfserve'}>"
    mime.set_content(content.text)
    mime.add_alternative(content.html, subtype="html")
    return mime


async def send_smtp(server: SmtpServer, mime: MimeMessage) -> None:
    await aiosmtplib.send(
        mime,
        hostname=server.hostname,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.implicit_tls,
        start_tls=False if server.implicit_tls else None,
        timeout=SMTP_TIMEOUT_SECONDS,
    )


async def write_outbox(folder: Path, message_id: str, mime: MimeMessage) -> Path:
    """Write ``<message id>.eml`` atomically (a rerun after a crash overwrites the same file)."""
    path = folder / f"{message_id}.eml"

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".eml.partial")
        partial.write_bytes(mime.as_bytes())
        partial.replace(path)

    await asyncio.to_thread(write)
    return path
