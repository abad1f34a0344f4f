"""Reading and changing a merchant's portal settings. Everything that ends up in CSS or links is checked
against a closed grammar here, so renderers can trust what is stored."""

from __future__ import annotations

from uuid import UUID

import msgspec

from server import i18n
from server.activity import record_merchant_activity
from server.db.engine import write_transaction
from server.db.tables import Organization, Product
from server.errors import Invalid, NotFound
from server.mail.queue import check_email_settings
from server.organizations.service import normalize_origins
from server.portal_settings.schemas import PortalSettingsResource, apply_patch
from server.schemas.common import json_value
from server.schemas.portal_settings import (
    Branding,
    PortalSettings,
    dump_portal_settings,
    load_portal_settings,
)
from server.schemas.validators import check_color, check_font_family, check_length, check_url

MAX_WELCOME_MESSAGE = 1000
MAX_WORDINGS = 500
MIN_TOKEN_TTL, MAX_TOKEN_TTL = 60, 86_400
MAX_PLAN_SWITCH_TARGETS = 10


async def _org(org_id: UUID) -> Organization:
    org = await Organization.objects().where(Organization.id == org_id).first()
    if org is None:
        raise NotFound(f"no organization {org_id}")
    return org


def _resource(org: Organization) -> PortalSettingsResource:
    settings = load_portal_settings(org)
    return PortalSettingsResource(
        **msgspec.structs.asdict(settings), allowed_origins=list(json_value(org.allowed_origins) or [])
    )


async def get_portal_settings(org_id: UUID) -> PortalSettingsResource:
    return _resource(await _org(org_id))


def check_branding(brand: Branding) -> None:
    """Refuse brand tokens outside the closed grammar (they end up in CSS and an image source)."""
    check_color(brand.primary_color, "branding.primary_color")
    check_color(brand.background_color, "branding.background_color")
    check_color(brand.text_color, "branding.text_color")
    check_length(brand.radius, "branding.radius")
    check_font_family(brand.font_family, "branding.font_family")
    if brand.logo_url is not None:
        check_url(brand.logo_url, "branding.logo_url")


async def _check(org_id: UUID, settings: PortalSettings) -> None:
    check_branding(settings.branding)
    for field, url in (
        ("links.support_url", settings.links.support_url),
        ("links.terms_url", settings.links.terms_url),
        ("links.privacy_url", settings.links.privacy_url),
    ):
        if url is not None:
            check_url(url, field)
    if len(settings.welcome_message) > MAX_WELCOME_MESSAGE:
        raise Invalid(f"welcome_message is limited to {MAX_WELCOME_MESSAGE} characters")
    check_email_settings(settings.email)
    _check_wordings(settings.wordings)
    if not i18n.speaks(settings.default_locale):
        raise Invalid(f"default_locale must be one of {', '.join(i18n.html_lang(x) for x in i18n.SUPPORTED)}")
    if not MIN_TOKEN_TTL <= settings.default_token_ttl <= MAX_TOKEN_TTL:
        raise Invalid(f"default_token_ttl must be {MIN_TOKEN_TTL} to {MAX_TOKEN_TTL} seconds")
    reasons = settings.features.cancellation_reasons
    if len(set(reasons)) != len(reasons):
        raise Invalid("features.cancellation_reasons lists a reason twice")
    await _check_plan_switches(org_id, settings.features.plan_switches)


def _check_wordings(wordings: dict[str, dict[str, str]]) -> None:
    if sum(len(words) for words in wordings.values()) > MAX_WORDINGS:
        raise Invalid(f"wordings are limited to {MAX_WORDINGS} messages in all")
    for locale, words in wordings.items():
        if not i18n.speaks(locale):
            raise Invalid(f"wordings: the portal does not speak {locale!r}")
        for message, text in words.items():
            if not text.strip() or len(text) > MAX_WELCOME_MESSAGE:
                raise Invalid(f"wordings.{locale}: each wording is 1 to {MAX_WELCOME_MESSAGE} characters")
            names = i18n.placeholders(message)
            if i18n.placeholders(text) != names or not _formats(text, names):
                raise Invalid(f"wordings.{locale}: {message!r} must keep exactly its %(name)s placeholders")


def _formats(text: str, names: list[str]) -> bool:
    """Whether a wording with placeholders fills them as the portal will (a stray ``%`` would not)."""
    if not names:
        return True
    try:
        text % dict.fromkeys(names, 1)  # only whether it formats
    except (ValueError, TypeError, KeyError):
        return False
    return True


async def _check_plan_switches(org_id: UUID, switches: dict[str, list[str]]) -> None:
    mentioned: set[UUID] = set()
    for source, targets in switches.items():
        if len(targets) > MAX_PLAN_SWITCH_TARGETS:
            raise Invalid(f"a product may switch to at most {MAX_PLAN_SWITCH_TARGETS} products")
        try:
            mentioned.update(UUID(p) for p in (source, *targets))
        except ValueError as exc:
            raise Invalid("features.plan_switches maps product ids to lists of product ids") from exc
    if mentioned:
        found = await Product.count().where(Product.org == org_id, Product.id.is_in(list(mentioned)))
        if found != len(mentioned):
            raise Invalid("features.plan_switches names a product that does not exist")


async def update_portal_settings(org_id: UUID, patch: msgspec.Struct) -> PortalSettingsResource:
    """Apply a ``PortalSettingsPatch``: all of it or (on any invalid value) none of it."""
    async with write_transaction():
        current = _resource(await _org(org_id))
        updated: PortalSettingsResource = apply_patch(current, patch)
        await _check(org_id, updated)
        origins = normalize_origins(updated.allowed_origins)
        settings = msgspec.convert(
            {k: v for k, v in msgspec.to_builtins(updated).items() if k != "allowed_origins"}, PortalSettings
        )
        branding, rest = dump_portal_settings(settings)
        await Organization.update(
            {
                Organization.branding: branding,
                Organization.portal_settings: rest,
                Organization.allowed_origins: msgspec.json.encode(origins).decode(),
            }
        ).where(Organization.id == org_id)
        await record_merchant_activity(org_id, "portal_settings.updated")
    return msgspec.structs.replace(updated, allowed_origins=origins)
