"""Merchants and their secret API keys."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from server import clock
from server.auth.api_keys import display_prefix, generate_api_key
from server.db.engine import write_transaction
from server.db.point_reads import read_row
from server.db.tables import ApiKey, Organization
from server.errors import Conflict, Invalid, NotFound
from server.security.keyring import Keyring
from server.security.origins import OriginError, normalize_origin_pattern

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
INVOICE_PREFIX_PATTERN = re.compile(r"^[A-Z0-9]{1,16}$")
EMBED_SECRET_PREFIX = "ss_es_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class CreatedOrganization:
    """A new merchant with the two secrets that are shown exactly once."""

    org: Organization
    api_key: str
    embed_secret: str


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug or "org"


def normalize_origins(origins: list[str] | tuple[str, ...]) -> list[str]:
    try:
        return sorted({normalize_origin_pattern(o) for o in origins})
    except OriginError as exc:
        raise Invalid(str(exc)) from exc


async def _free_slug(base: str) -> str:
    taken = {
        r["slug"]
        for r in await Organization.select(Organization.slug).where(Organization.slug.like(base + "%"))
    }
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def create_organization(
    keyring: Keyring,
    *,
    name: str,
    slug: str | None = None,
    origins: list[str] | tuple[str, ...] = (),
    legal_address: str = "",
    support_email: str = "",
    invoice_prefix: str = "INV",
) -> CreatedOrganization:
    """A new merchant with its first API key; ``legal_address``, ``support_email`` and ``invoice_prefix``
    are printed on its invoices."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("name must be 1 to 200 characters")
    if not INVOICE_PREFIX_PATTERN.match(invoice_prefix):
        raise Invalid("invoice_prefix must be 1 to 16 capital letters or digits")
    allowed = normalize_origins(origins)
    if slug is not None and not SLUG_PATTERN.match(slug):
        raise Invalid(
            "slug must be lowercase letters, digits and dashes (1 to 64), starting and ending alphanumeric"
        )
    embed_secret = EMBED_SECRET_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    async with write_transaction():
        if slug is None:
            slug = await _free_slug(slugify(name))
        elif await Organization.exists().where(Organization.slug == slug):
            raise Conflict(f"the slug {slug!r} is taken")
        org = Organization(
            name=name,
            slug=slug,
            allowed_origins=allowed,
            embed_secret_encrypted=keyring.box.encrypt(embed_secret),
            legal_address=legal_address,
            support_email=support_email,
            invoice_prefix=invoice_prefix,
            created_at=now,
        )
        await org.save()
        api_key = await _insert_api_key(keyring, org, name="default")
    return CreatedOrganization(org=org, api_key=api_key, embed_secret=embed_secret)


async def _insert_api_key(keyring: Keyring, org: Organization, name: str) -> str:
    key = generate_api_key()
    await ApiKey(
        org=org.id,
        name=name,
        display_prefix=display_prefix(key),
        key_hash=keyring.api_key_hasher.digest(key),
        created_at=clock.now(),
    ).save()
    return key


async def find_organization_by_slug(slug: str) -> Organization | None:
    """Every hosted page, sign-in and Stripe event starts here: one point read."""
    return await read_row(Organization, "slug = {}", slug)


async def get_organization_by_slug(slug: str) -> Organization:
    org = await find_organization_by_slug(slug)
    if org is None:
        raise NotFound(f"no organization with slug {slug!r}")
    return org


async def create_api_key(keyring: Keyring, org: Organization, name: str = "") -> str:
    """A new secret key for ``org``; the plaintext is returned once and never stored."""
    return await _insert_api_key(keyring, org, name=name)
