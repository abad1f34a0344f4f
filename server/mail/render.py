"""Email bodies from ``templates/emails``: one ``<name>.jinja`` per email defines its wording in blocks, and
``_layout.html`` / ``_layout.txt`` lay those blocks out, so every email has an HTML and a plain-text body
from one source. The HTML environment autoescapes; the text one does not."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jinja2
import msgspec

from server import i18n
from server.db.tables import Organization
from server.money import format_money
from server.paths import TEMPLATES_DIR
from server.schemas.portal_settings import Branding, load_portal_settings

EMAIL_TEMPLATES = (
    "magic_link",
    "email_change",
    "seat_invitation",
    "console_link",
    "usage_alert",
    "data_export_ready",
    "usage_cap",
    "payment_confirmation",
)
_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class MailBranding(msgspec.Struct, frozen=True, kw_only=True):
    """What of the merchant's look goes into an email; values are already safe to put in a style or src."""

    org_name: str
    primary_color: str
    logo_url: str | None = None
    intro: str = ""


class RenderedEmail(msgspec.Struct, frozen=True):
    html: str
    text: str


def recipient_locale(org: Organization, stored: str | None) -> str:
    """The language of an email about a customer's account: their stored locale, else the merchant's
    default (an email has no ``locale=`` nor browser to ask)."""
    return i18n.negotiate(stored, load_portal_settings(org).default_locale)


def mail_branding(org_name: str, branding: Branding, intro: str = "") -> MailBranding:
    """The merchant's branding, keeping only a hex colour and an http(s) logo (anything else falls back)."""
    colour = branding.primary_color if _HEX_COLOUR.match(branding.primary_color) else Branding().primary_color
    logo = (
        branding.logo_url
        if branding.logo_url and urlsplit(branding.logo_url).scheme in {"http", "https"}
        else None
    )
    return MailBranding(org_name=org_name, primary_color=colour, logo_url=logo, intro=intro.strip())


def _environment(*, autoescape: bool) -> jinja2.Environment:
    """Wording goes through ``_`` in the locale active when the email is queued (the recipient's)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "emails"),
        autoescape=autoescape,  # noqa: S701 (the plain-text body must not be HTML-escaped)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(_=i18n.gettext, locale=i18n.current_locale, text_direction=i18n.text_direction)
    env.filters.update(
        money=lambda amount, currency: format_money(int(amount), currency, i18n.current_locale()),
        day=i18n.format_day,
        number=i18n.format_number,
        period=i18n.format_period,
    )
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


def render_email(template: str, context: Mapping[str, Any], brand: MailBranding) -> RenderedEmail:
    """Both bodies of ``template``. A context key the template needs but is missing raises, rather than
    sending an email with a blank link."""
    if template not in EMAIL_TEMPLATES:
        raise ValueError(f"unknown email template {template!r}; known: {', '.join(EMAIL_TEMPLATES)}")
    values = {**context, "brand": brand}
    name = f"{template}.jinja"
    html = _HTML.get_template(name).render(values, layout="_layout.html")
    text = _TEXT.get_template(name).render(values, layout="_layout.txt")
    return RenderedEmail(html=html, text=text.strip() + "\n")
