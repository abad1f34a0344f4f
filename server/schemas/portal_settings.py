"""What a merchant configures about its portal. Stored on the organization: ``branding`` in its own column,
everything else in ``portal_settings``; ``load_portal_settings`` assembles them with defaults filled in."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

from server.db.tables import Organization
from server.enums import CancellationReason
from server.schemas.views import VIEW_NAMES, ViewName

Theme = Literal["auto", "light", "dark"]
RefundPolicy = Literal["none", "payment_method", "wallet"]


class Branding(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    logo_url: str | None = None
    primary_color: str = "#4f46e5"
    background_color: str = "#ffffff"
    text_color: str = "#111827"
    radius: str = "8px"
    font_family: str = "system-ui, sans-serif"
    default_theme: Theme = "auto"


class Links(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    support_url: str | None = None
    terms_url: str | None = None
    privacy_url: str | None = None


class Sections(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the merchant shows: each view (named as in ``VIEW_NAMES``) and the ``PARTS`` inside views."""

    overview: bool = True
    subscriptions: bool = True
    orders: bool = True
    usage: bool = True
    wallet: bool = True
    settings: bool = True
    seats: bool = True
    benefits: bool = True

    PARTS: ClassVar[tuple[str, ...]] = ("seats", "benefits")
    """Sections inside a view: the seats of a per-seat subscription, the benefits on the overview."""

    def shows(self, view: ViewName) -> bool:
        shown: bool = getattr(self, view)
        return shown


def _sections_are_the_views() -> None:
    """A view added to ``VIEW_NAMES`` without its switch here would be shown with no way to hide it."""
    names = set(msgspec.structs.asdict(Sections()))
    if names != {*VIEW_NAMES, *Sections.PARTS}:
        raise RuntimeError(f"Sections {sorted(names)} are not the views {VIEW_NAMES} and {Sections.PARTS}")


_sections_are_the_views()


class Features(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    plan_change: bool = True
    seat_change: bool = True
    pause: bool = False
    email_change: bool = True
    cancellation_reasons: list[CancellationReason] = msgspec.field(
        default_factory=lambda: list(CancellationReason)
    )
    immediate_cancel: bool = True
    immediate_cancel_refund: RefundPolicy = "payment_method"
    upgrade_timing: Literal["immediately", "period_end"] = "immediately"
    downgrade_timing: Literal["immediately", "period_end"] = "period_end"
    plan_switches: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Product id → product ids it may switch to. A product absent here may switch to any product shown in
    the portal."""
    dunning_final_action: Literal["cancel", "unpaid"] = "cancel"
    spend_caps: bool = False
    vies_check: bool = False
    """Ask the EU's VIES whether an EU VAT number a customer enters in the portal is registered (online;
    VIES being unreachable never stops the customer, see ``server.tax.tax_ids``)."""
    """Customers may set a spend cap (the most their overage bills a period) in the usage view."""


class EmailSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How the portal's emails (sign-in links, seat invitations) present the merchant."""

    sender_name: str | None = None
    """Shown as the sender; the organization's name when unset."""
    reply_to: str | None = None
    intro: str = ""
    """A short text above every message (at most 500 characters)."""


class PortalSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    branding: Branding = msgspec.field(default_factory=Branding)
    welcome_message: str = ""
    links: Links = msgspec.field(default_factory=Links)
    sections: Sections = msgspec.field(default_factory=Sections)
    features: Features = msgspec.field(default_factory=Features)
    email: EmailSettings = msgspec.field(default_factory=EmailSettings)
    default_token_ttl: int = 3600
    default_locale: str = "en"
    wordings: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    """The merchant's own words per locale: ``{"de": {"Wallet": "Prepaid-Guthaben", "<welcome message>":
    "<its German>"}}``. A key is a portal message (as ``server/locales`` lists them) or the welcome message
    itself; the wording keeps the message's ``%(name)s`` placeholders."""
    """The portal's language for a customer who asked for none the portal speaks (``en``, ``de``,
    ``pt-BR``...): after the embed's or link's ``locale=``, the customer's stored locale and the browser's
    languages."""


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        value = msgspec.json.decode(value or b"{}")
    return dict(value or {})


def load_portal_settings(org: Organization | dict[str, Any]) -> PortalSettings:
    """The org's settings with defaults for everything it never set."""
    row = org if isinstance(org, dict) else {"branding": org.branding, "portal_settings": org.portal_settings}
    stored = _as_dict(row["portal_settings"])
    stored["branding"] = _as_dict(row["branding"])
    return msgspec.convert(stored, PortalSettings)


def dump_portal_settings(settings: PortalSettings) -> tuple[str, str]:
    """(branding JSON, portal_settings JSON) for the organization's two columns."""
    everything = msgspec.to_builtins(settings)
    branding = everything.pop("branding")
    return msgspec.json.encode(branding).decode(), msgspec.json.encode(everything).decode()
