"""Portal sessions: an opaque random secret (256 bits) handed to the customer's browser, stored only as
its SHA-256. Embedded sessions are bearer tokens bound to the parent origin and live 30 minutes idle; a
fresh portal token renews one. Hosted sessions are first-party cookies that live 30 days idle; every login
makes a new one (and ends the one the browser had), and each carries a CSRF secret (``server.auth.csrf``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from server import clock
from server.auth.csrf import new_csrf_secret
from server.auth.tokens import PortalClaims
from server.db.point_reads import read_one, read_row, write
from server.db.tables import Customer, Organization, PortalSession
from server.enums import SessionKind
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
    viewed_by: str | None = None
    """The staff member (email) looking at this customer's portal from the console; always read-only."""


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

    @property
    def hosted(self) -> bool:
        """A first-party cookie session (the hosted portal) rather than an embed's bearer session."""
        return bool(self.csrf_token)


class SessionExpired(Unauthorized):
    """The session is unknown, ended or idle too long; the portal asks for a fresh token."""

    code = "session_expired"


def scopes_of(claims: PortalClaims) -> SessionScopes:
    return SessionScopes(
        views=claims.views,
        read_only=claims.read_only or claims.viewed_by is not None,
        return_url=claims.return_url,
        viewed_by=claims.viewed_by,
    )


_OPEN_EMBED = (
    "INSERT INTO ss_session (id, org, customer, kind, token_hash, origin, scopes, csrf_secret, created_at,"
    " last_seen_at, expires_at) VALUES ({}, {}, {}, {}, {}, {}, {}, '', {}, {}, {})"
)


class OpenedSession(msgspec.Struct, frozen=True):
    id: UUID
    expires_at: datetime


async def open_embed_session(claims: PortalClaims, origin: str) -> tuple[str, OpenedSession]:
    """A new embedded session for the customer a (just redeemed) token names, bound to ``origin``: one
    hand-written statement (the exchange waits on it)."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    session = OpenedSession(uuid4(), now + EMBED_IDLE)
    scopes = msgspec.json.encode(scopes_of(claims)).decode()
    await write(
        _OPEN_EMBED,
        *(session.id, claims.org_id, claims.customer_id, SessionKind.EMBED.value, sha256_hex(secret)),
        *(origin, scopes, now, now, session.expires_at),
    )
    return secret, session


async def renew_embed_session(secret: str, claims: PortalClaims, origin: str) -> LiveSession:
    """Extend a live session of the same customer and origin with a freshly redeemed token."""
    session = await find_session(secret, SessionKind.EMBED)
    if (
        str(session.customer_id) != claims.sub
        or str(session.org_id) != claims.org
        or session.origin != origin
    ):
        raise SessionExpired("this token is for another customer or page; open the portal again")
    now = clock.now()
    scopes = msgspec.json.encode(scopes_of(claims)).decode()
    await PortalSession.update(
        {
            PortalSession.scopes: scopes,
            PortalSession.last_seen_at: now,
            PortalSession.expires_at: now + EMBED_IDLE,
        }
    ).where(PortalSession.id == session.id)
    return msgspec.structs.replace(session, scopes=scopes, expires_at=now + EMBED_IDLE)


class LiveSession(msgspec.Struct, frozen=True, kw_only=True):
    """A live session as one query finds it, with the cache versions of its customer and merchant: enough
    to serve a cached view without loading either (``server.portal.view_cache``)."""

    id: UUID
    org_id: UUID
    customer_id: UUID
    scopes: str
    """The JSON of ``SessionScopes``, as stored."""
    origin: str | None
    csrf_secret: str
    expires_at: datetime
    customer_version: int
    org_version: int


_FIND_SESSION = (
    "SELECT s.id, s.org, s.customer, s.scopes, s.origin, s.csrf_secret, s.last_seen_at, s.expires_at, "
    "s.ended_at, COALESCE(cv.version, 0) AS customer_version, COALESCE(ov.version, 0) AS org_version "
    "FROM ss_session s LEFT JOIN ss_cache_version cv ON cv.scope = s.customer "
    "LEFT JOIN ss_cache_version ov ON ov.scope = s.org WHERE s.token_hash = {} AND s.kind = {}"
)


async def find_session(secret: str, kind: SessionKind) -> LiveSession:
    """The live session ``secret`` opens, in one query; use keeps it alive for another idle period."""
    row = await read_one(_FIND_SESSION, sha256_hex(secret), kind.value)
    now = clock.now()
    if row is None or row["ended_at"] is not None or _moment(row["expires_at"]) <= now:
        raise SessionExpired("your session has ended; open the portal again")
    expires_at = _moment(row["expires_at"])
    if now - _moment(row["last_seen_at"]) >= TOUCH_AFTER:
        expires_at = now + (EMBED_IDLE if kind is SessionKind.EMBED else HOSTED_IDLE)
        await PortalSession.update(
            {PortalSession.last_seen_at: now, PortalSession.expires_at: expires_at}
        ).where(PortalSession.id == row["id"])
    return LiveSession(
        id=_uuid(row["id"]),
        org_id=_uuid(row["org"]),
        customer_id=_uuid(row["customer"]),
        scopes=_text(row["scopes"]),
        origin=row["origin"],
        csrf_secret=row["csrf_secret"],
        expires_at=expires_at,
        customer_version=int(row["customer_version"]),
        org_version=int(row["org_version"]),
    )


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
    return await load_context(await find_session(secret, SessionKind.HOSTED), keyring, public_url)


async def load_context(session: LiveSession, keyring: Keyring, public_url: str) -> PortalContext:
    """What a widget needs: the session with its merchant and customer loaded."""
    org = await read_row(Organization, "id = {}", session.org_id)
    customer = await read_row(
        Customer, "id = {} AND org = {} AND deleted_at IS NULL", session.customer_id, session.org_id
    )
    if org is None or customer is None:
        raise SessionExpired("this account is no longer available")
    return PortalContext(
        session_id=session.id,
        org=org,
        customer=customer,
        scopes=msgspec.json.decode(session.scopes, type=SessionScopes),
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


def _moment(value: datetime | str) -> datetime:
    """A timestamp from a raw row (SQLite hands back the stored text when a join hides the column type)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _text(value: Any) -> str:
    """A JSON column as text (PostgreSQL's driver already decodes it, SQLite does not)."""
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()
