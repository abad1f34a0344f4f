"""Portal sessions: an opaque random secret (256 bits) handed to the customer's browser, stored only as
its SHA-256. Embedded sessions are bearer tokens bound to the parent origin and live 30 minutes idle; a
fresh portal token renews one. Hosted sessions are first-party cookies that live 30 days idle; every login
makes a new one (and ends the one the browser had), and each carries a CSRF secret (``server.auth.csrf``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server import clock
from server.auth.csrf import new_csrf_secret
from server.auth.tokens import PortalClaims
from server.db.enums import SessionKind
from server.db.tables import Customer, Organization, PortalSession
from server.errors import Unauthorized
from server.security.keyring import Keyring
from server.security.secrets import sha256_hex

EMBED_IDLE = timedelta(minutes=30)
HOSTED_IDLE = timedelta(days=30)
TOUCH_AFTER = timedelta(seconds=60)
"""A used session's expiry moves forward at most once a minute, so reads do not each cost a write."""


class SessionScopes(msgspec.Struct, frozen=True, kw_only=True):
    views: list[str] | None = None
    read_only: bool = False
    return_url: str | None = None


@dataclass(frozen=True)
class PortalContext:
    """Who is looking at the portal: what every widget and action receives."""

    session_id: UUID
    org: Organization
    customer: Customer
    scopes: SessionScopes
    origin: str | None
    expires_at: datetime
    keyring: Keyring
    """For what a view must decrypt or sign (license keys, download links)."""
    public_url: str
    """Base of links the portal hands out (seat invitations)."""
    csrf_token: str = ""
    """What a cookie-authenticated page sends back on writes; empty for bearer sessions."""


class SessionExpired(Unauthorized):
    """The session is unknown, ended or idle too long; the portal asks for a fresh token."""


def scopes_of(claims: PortalClaims) -> SessionScopes:
    return SessionScopes(views=claims.views, read_only=claims.read_only, return_url=claims.return_url)


async def open_embed_session(claims: PortalClaims, origin: str) -> tuple[str, PortalSession]:
    """A new embedded session for the customer a (just redeemed) token names, bound to ``origin``."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    session = PortalSession(
        org=claims.org_id,
        customer=claims.customer_id,
        kind=SessionKind.EMBED,
        token_hash=sha256_hex(secret),
        origin=origin,
        scopes=msgspec.json.encode(scopes_of(claims)).decode(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + EMBED_IDLE,
    )
    await session.save()
    return secret, session


async def renew_embed_session(secret: str, claims: PortalClaims, origin: str) -> PortalSession:
    """Extend a live session of the same customer and origin with a freshly redeemed token."""
    session = await _live_session(secret, SessionKind.EMBED)
    if str(session.customer) != claims.sub or str(session.org) != claims.org or session.origin != origin:
        raise SessionExpired("this token is for another customer or page; open the portal again")
    now = clock.now()
    session.scopes = msgspec.json.encode(scopes_of(claims)).decode()
    session.last_seen_at, session.expires_at = now, now + EMBED_IDLE
    await session.save([PortalSession.scopes, PortalSession.last_seen_at, PortalSession.expires_at])
    return session


async def _live_session(secret: str, kind: SessionKind) -> PortalSession:
    session = (
        await PortalSession.objects()
        .where(PortalSession.token_hash == sha256_hex(secret), PortalSession.kind == kind)
        .first()
    )
    if session is None or session.ended_at is not None or session.expires_at <= clock.now():
        raise SessionExpired("your session has ended; open the portal again")
    return session


async def authenticate_embed_session(
    secret: str, keyring: Keyring, public_url: str, origin: str | None = None
) -> PortalContext:
    """The context of a live embedded session; touching it keeps it alive for another idle period."""
    session = await _live_session(secret, SessionKind.EMBED)
    if origin is not None and session.origin != origin:
        raise SessionExpired("this session belongs to another page")
    return await _context(session, EMBED_IDLE, keyring, public_url)


async def open_hosted_session(
    org_id: UUID, customer_id: UUID, scopes: SessionScopes, *, replacing: str | None = None
) -> tuple[str, PortalSession]:
    """A new cookie session (a new id at every login); ``replacing``, the browser's previous one, ends."""
    if replacing:
        await end_session(replacing)
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    session = PortalSession(
        org=org_id,
        customer=customer_id,
        kind=SessionKind.HOSTED,
        token_hash=sha256_hex(secret),
        scopes=msgspec.json.encode(scopes).decode(),
        csrf_secret=new_csrf_secret(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + HOSTED_IDLE,
    )
    await session.save()
    return secret, session


async def authenticate_hosted_session(secret: str, keyring: Keyring, public_url: str) -> PortalContext:
    """The context of a live cookie session, with its CSRF token; use keeps it alive for 30 more days."""
    session = await _live_session(secret, SessionKind.HOSTED)
    return await _context(session, HOSTED_IDLE, keyring, public_url)


async def _context(
    session: PortalSession, idle: timedelta, keyring: Keyring, public_url: str
) -> PortalContext:
    now = clock.now()
    if now - session.last_seen_at >= TOUCH_AFTER:
        session.last_seen_at, session.expires_at = now, now + idle
        await session.save([PortalSession.last_seen_at, PortalSession.expires_at])
    org = await Organization.objects().where(Organization.id == session.org).first()
    customer = (
        await Customer.objects()
        .where(Customer.id == session.customer, Customer.org == session.org, Customer.deleted_at.is_null())
        .first()
    )
    if org is None or customer is None:
        raise SessionExpired("this account is no longer available")
    return PortalContext(
        session_id=UUID(str(session.id)),
        org=org,
        customer=customer,
        scopes=msgspec.convert(_decode(session.scopes), SessionScopes),
        origin=session.origin,
        expires_at=session.expires_at,
        keyring=keyring,
        public_url=public_url,
        csrf_token=session.csrf_secret,
    )


async def end_session(secret: str) -> None:
    await PortalSession.update({PortalSession.ended_at: clock.now()}).where(
        PortalSession.token_hash == sha256_hex(secret)
    )


def _decode(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value
