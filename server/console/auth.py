"""Console sign-in: the customers' magic links (``server.auth.magic_links``) with a purpose of their own, and
console sessions in a table and cookie of their own, so a portal session can never open the console or the
other way round.

A link is per merchant: someone on several teams gets one email per team. The session is a random secret
(256 bits) in the ``ss_console`` cookie, stored as its SHA-256, 12 hours idle, with a CSRF secret the pages
send back on every write.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from litestar.datastructures import Cookie

from server import clock
from server.auth.csrf import new_csrf_secret
from server.auth.magic_links import LinkRefused, redeem_link, save_link
from server.console.staff import active_member, memberships
from server.db.engine import write_transaction
from server.db.tables import MagicLink, Organization, StaffMember, StaffSession
from server.enums import MagicLinkPurpose, StaffRole
from server.errors import Unauthorized
from server.mail import queue_email
from server.security.keyring import Keyring
from server.security.secrets import sha256_hex

COOKIE = "ss_console"
IDLE = timedelta(hours=12)
TOUCH_AFTER = timedelta(seconds=60)
STAFF_PURPOSES = (MagicLinkPurpose.STAFF_LOGIN,)


class SignInNeeded(Unauthorized):
    """No live console session in the request."""

    code = "sign_in_needed"


@dataclass(frozen=True)
class Staff:
    """Who is using the console: what every console page and guard receives."""

    session_id: UUID
    member: StaffMember
    member_id: UUID
    email: str
    name: str
    role: StaffRole
    org: Organization
    csrf_token: str


def console_link(public_url: str, slug: str, secret: str) -> str:
    """The sign-in page with the link's secret in the fragment (never sent to a server or a log)."""
    return f"{public_url}/console/login?org={slug}#token={secret}"


async def issue_link(org: Organization, email: str, public_url: str) -> str:
    """A single-use sign-in link for ``email`` of ``org``'s team (the caller checked membership)."""
    secret = await save_link(org.id, MagicLinkPurpose.STAFF_LOGIN, email)
    return console_link(public_url, org.slug, secret)


async def request_links(email: str, *, keyring: Keyring, public_url: str) -> int:
    """Email a sign-in link for every team ``email`` (normalized) is on; how many were sent (the page
    answers the same whatever it is)."""
    async with write_transaction():
        teams = await memberships(email)
        for member, org in teams:
            await queue_email(
                keyring,
                org.id,
                to=member.email,
                subject=f"Your sign-in link for the {org.name} console",
                template="console_link",
                context={"url": await issue_link(org, member.email, public_url)},
            )
    return len(teams)


async def use_link(org: Organization, secret: str) -> tuple[StaffMember, MagicLink]:
    """Use up a console link of ``org``: its staff member and the link; ``LinkRefused`` when the link is
    unknown, used, expired or its member has left the team (the link stays usable then)."""
    async with write_transaction():
        link = await redeem_link(org.id, secret, STAFF_PURPOSES)
        member = await active_member(org.id, link.email)
        if member is None:
            raise LinkRefused("this person is no longer on the team", email=link.email)
    return member, link


async def open_session(org: Organization, member: StaffMember) -> tuple[str, StaffSession]:
    """A new console session for ``member`` (signed in by a link, and by a code when they asked for one)."""
    session_secret = secrets.token_urlsafe(32)
    now = clock.now()
    session = StaffSession(
        org=org.id,
        staff=member.id,
        token_hash=sha256_hex(session_secret),
        csrf_secret=new_csrf_secret(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + IDLE,
    )
    await session.save()
    return session_secret, session


async def find_staff(secret: str) -> Staff:
    """The live session ``secret`` opens, its member (still on the team) and merchant; use keeps it alive."""
    session = await StaffSession.objects().where(StaffSession.token_hash == sha256_hex(secret)).first()
    now = clock.now()
    if session is None or session.ended_at is not None or session.expires_at <= now:
        raise SignInNeeded("your console session has ended; sign in again")
    member = (
        await StaffMember.objects()
        .where(StaffMember.id == session.staff, StaffMember.removed_at.is_null())
        .first()
    )
    org = await Organization.objects().where(Organization.id == session.org).first()
    if member is None or org is None:
        raise SignInNeeded("you are no longer on this team")
    if now - session.last_seen_at >= TOUCH_AFTER:
        await StaffSession.update(
            {StaffSession.last_seen_at: now, StaffSession.expires_at: now + IDLE}
        ).where(StaffSession.id == session.id)
    return Staff(
        session_id=session.id,
        member=member,
        member_id=member.id,
        email=member.email,
        name=member.name,
        role=StaffRole(member.role),
        org=org,
        csrf_token=session.csrf_secret,
    )


async def end_session(secret: str) -> None:
    await StaffSession.update({StaffSession.ended_at: clock.now()}).where(
        StaffSession.token_hash == sha256_hex(secret)
    )


def session_cookie(secret: str) -> Cookie:
    """First-party, script-proof, only sent to ``/console``."""
    return Cookie(
        key=COOKIE,
        value=secret,
        max_age=int(IDLE.total_seconds()),
        path="/console",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def cleared_cookie() -> Cookie:
    return Cookie(
        key=COOKIE, value="", max_age=0, path="/console", secure=True, httponly=True, samesite="lax"
    )
