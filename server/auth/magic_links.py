"""Magic links (CONTRACT §6): single use, 15 minutes, only the SHA-256 of the secret stored.

A login link is for an email address, not a customer: when several customers of the merchant share the
address, the choice is offered only after the link is opened. An email-change link is for one customer and
goes to the new address; the change applies when it is opened. Links reach the browser in the URL fragment
(``/portal/<slug>#token=ml_…``), so they stay out of server logs and link scanners cannot use them up.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from uuid import UUID

from piccolo.query import WhereRaw

from server import clock, i18n
from server.db.engine import write_transaction
from server.db.tables import Customer, MagicLink, Organization
from server.enums import MagicLinkPurpose
from server.errors import Invalid, RateLimited, Unauthorized
from server.mail import queue_email
from server.mail.queue import check_address
from server.mail.render import recipient_locale
from server.security.keyring import Keyring
from server.security.ratelimit import LOGIN_BLOCK_SECONDS, LOGIN_LIMITS, RateLimiter
from server.security.secrets import sha256_hex

LINK_TTL = timedelta(minutes=15)
LINK_PREFIX = "ml_"
"""Tells a magic-link secret from a portal token when either arrives in the hosted page's fragment."""
EMAIL_CHANGES_PER_HOUR = 5


class LinkRefused(Unauthorized):
    """An unknown, used or expired link. ``email`` (when the link is known) pre-fills a fresh request."""

    code = "link_refused"

    def __init__(self, detail: str, email: str | None = None) -> None:
        super().__init__(detail)
        self.email = email


def is_magic_link(secret: str) -> bool:
    return secret.startswith(LINK_PREFIX)


def portal_link(public_url: str, slug: str, secret: str) -> str:
    return f"{public_url}/portal/{slug}#token={secret}"


def normalize_email(value: str) -> str:
    """The address as links and limits key it: checked, trimmed, lower case."""
    return check_address(value, "email").lower()


async def customers_with_email(org_id: UUID, email: str) -> list[Customer]:
    """The merchant's live customers with this address (any letter case), oldest first."""
    return await (
        Customer.objects()
        .where(Customer.org == org_id, Customer.deleted_at.is_null(), WhereRaw("lower(email) = {}", email))
        .order_by(Customer.created_at)
    )


async def throttle_login(limiter: RateLimiter, buckets: list[str]) -> int | None:
    """Count a link request against each bucket (an email, an IP); going over a limit blocks that bucket
    for 15 minutes. The seconds to wait while any bucket is over or blocked, else None."""
    waits = [wait for bucket in buckets if (wait := await limiter.blocked_for(bucket)) is not None]
    for bucket in buckets:
        for limit in LOGIN_LIMITS:
            if await limiter.hit(f"{bucket}:{limit.window_seconds}", limit) is not None:
                await limiter.block(bucket, LOGIN_BLOCK_SECONDS)
                waits.append(LOGIN_BLOCK_SECONDS)
    return max(waits) if waits else None


async def save_link(
    org_id: UUID,
    purpose: MagicLinkPurpose,
    email: str,
    *,
    customer_id: UUID | None = None,
    new_email: str | None = None,
) -> str:
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    await MagicLink(
        org=org_id,
        purpose=purpose,
        email=email,
        customer=customer_id,
        new_email=new_email,
        token_hash=sha256_hex(secret),
        expires_at=now + LINK_TTL,
        created_at=now,
    ).save()
    return secret


async def request_login_link(org: Organization, email: str, *, keyring: Keyring, public_url: str) -> None:
    """Email a sign-in link when ``email`` (normalized) belongs to a customer.

    Known or not, the work is the same: an unknown email's link and message are written too, then rolled
    back to a savepoint, so the answer's timing does not tell whether the address has an account."""
    async with write_transaction() as transaction:
        customers = await customers_with_email(org.id, email)
        savepoint = await transaction.savepoint()
        secret = await save_link(org.id, MagicLinkPurpose.LOGIN, email)
        with i18n.use_locale(recipient_locale(org, customers[0].locale if customers else None)):
            await queue_email(
                keyring,
                org.id,
                to=customers[0].email if customers else email,
                subject=i18n.gettext("Your sign-in link for %(merchant)s", merchant=org.name),
                template="magic_link",
                context={"url": portal_link(public_url, org.slug, secret)},
            )
        await (savepoint.release() if customers else savepoint.rollback_to())


async def request_email_change(
    org: Organization, customer: Customer, address: str, *, keyring: Keyring, public_url: str
) -> None:
    """Send a verification link to ``address`` (normalized); the address changes only when it is opened.
    At most ``EMAIL_CHANGES_PER_HOUR`` requests per customer, so a session cannot flood strangers' inboxes."""
    if address == customer.email.lower():
        raise Invalid("this is already the customer's email address")
    async with write_transaction():
        recent = await MagicLink.count().where(
            MagicLink.org == org.id,
            MagicLink.customer == customer.id,
            MagicLink.purpose == MagicLinkPurpose.EMAIL_CHANGE,
            MagicLink.created_at > clock.now() - timedelta(hours=1),
        )
        if recent >= EMAIL_CHANGES_PER_HOUR:
            raise RateLimited("too many email changes; try again in an hour", retry_after=3600)
        secret = await save_link(
            org.id, MagicLinkPurpose.EMAIL_CHANGE, customer.email, customer_id=customer.id, new_email=address
        )
        with i18n.use_locale(recipient_locale(org, customer.locale)):
            await queue_email(
                keyring,
                org.id,
                to=address,
                subject=i18n.gettext("Confirm your new email address for %(merchant)s", merchant=org.name),
                template="email_change",
                context={"url": portal_link(public_url, org.slug, secret), "new_email": address},
            )


CUSTOMER_PURPOSES = (MagicLinkPurpose.LOGIN, MagicLinkPurpose.EMAIL_CHANGE)


async def redeem_link(
    org_id: UUID, secret: str, purposes: tuple[MagicLinkPurpose, ...] = CUSTOMER_PURPOSES
) -> MagicLink:
    """Use a link up: of any number of concurrent redemptions exactly one gets it. Call it inside the
    ``write_transaction()`` of what the link does, so a failure there leaves the link usable. A link made
    for another purpose (a console link opened on the portal, say) is refused and stays usable."""
    now = clock.now()
    token_hash = sha256_hex(secret)
    rows = await (
        MagicLink.update({MagicLink.used_at: now})
        .where(
            MagicLink.org == org_id,
            MagicLink.purpose.is_in(list(purposes)),
            MagicLink.token_hash == token_hash,
            MagicLink.used_at.is_null(),
            MagicLink.expires_at > now,
        )
        .returning(MagicLink.id)
    )
    link = (
        await MagicLink.objects()
        .where(
            MagicLink.org == org_id,
            MagicLink.purpose.is_in(list(purposes)),
            MagicLink.token_hash == token_hash,
        )
        .first()
    )
    if not rows or link is None:
        raise LinkRefused("this link is not valid any more", email=link.email if link else None)
    return link
