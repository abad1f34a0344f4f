"""Closed grammars for values that end up in CSS or in links (EMBEDDING.md "Theming"). Anything outside
them is refused, so a stored value can be rendered into a page without escaping tricks."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from server.errors import Invalid
from server.security.origins import _is_local_host

_BYTE = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PCT = r"(?:100|[1-9]?\d(?:\.\d+)?)%"
_SEP = r"(?:\s*,\s*|\s+)"
_ALPHA = r"(?:\s*[,/]\s*(?:0|1|0?\.\d+|" + _PCT + r"))?"
_COLOR = re.compile(
    r"^(?:#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}"
    rf"|rgb\(\s*{_BYTE}{_SEP}{_BYTE}{_SEP}{_BYTE}{_ALPHA}\s*\)"
    rf"|hsl\(\s*(?:360|3[0-5]\d|[12]\d\d|[1-9]?\d)(?:deg)?{_SEP}{_PCT}{_SEP}{_PCT}{_ALPHA}\s*\))$"
)
_LENGTH = re.compile(r"^(?:0|\d{1,3}(?:\.\d{1,3})?(?:px|rem|em))$")
_FONT_FAMILY = re.compile(r"^[A-Za-z0-9 ,'\"_-]{1,200}$")
_FORBIDDEN = ("url(", ";", "}", "{", "\\", "<", ">")


def _no_css_escape(value: str, field: str) -> None:
    if any(bad in value.lower() for bad in _FORBIDDEN):
        raise Invalid(f"{field} may not contain url(, ;, braces, angle brackets or backslashes")


def check_color(value: str, field: str) -> str:
    _no_css_escape(value, field)
    if not _COLOR.match(value.strip()):
        raise Invalid(f"{field} must be a colour like #4f46e5, #fff, rgb(79, 70, 229) or hsl(243, 75%, 59%)")
    return value.strip()


def check_length(value: str, field: str) -> str:
    _no_css_escape(value, field)
    if not _LENGTH.match(value.strip()):
        raise Invalid(f"{field} must be a length in px, rem or em, like 8px or 0.5rem")
    return value.strip()


def check_font_family(value: str, field: str) -> str:
    _no_css_escape(value, field)
    if not _FONT_FAMILY.match(value.strip()):
        raise Invalid(f"{field} may use letters, digits, spaces, commas, quotes, dashes and underscores only")
    return value.strip()


def check_url(value: str, field: str) -> str:
    """An absolute https URL (plain http only for localhost and private addresses)."""
    if len(value) > 2000 or any(c.isspace() or not c.isprintable() for c in value):
        raise Invalid(f"{field} must be a URL of at most 2000 characters without spaces")
    parts = urlsplit(value)
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        raise Invalid(f"{field} has an invalid port") from exc
    if parts.scheme == "https" and host and not parts.username and not parts.password:
        return value
    if parts.scheme == "http" and host and _is_local_host(host):
        return value
    raise Invalid(f"{field} must be an https:// URL (http:// only for localhost)")


_MAILTO = re.compile(r"^mailto:[^@\s:/?#]+@[^@\s:/?#]+\.[^@\s:/?#]+$")


def check_link(value: str, field: str) -> str:
    """Where a customer may be sent: an https URL as ``check_url`` allows, or ``mailto:`` one address."""
    if value.startswith("mailto:"):
        if len(value) > 330 or not _MAILTO.match(value):
            raise Invalid(f"{field} must be mailto: followed by one email address")
        return value
    return check_url(value, field)


MAX_METADATA_PAIRS, MAX_METADATA_KEY, MAX_METADATA_VALUE = 50, 40, 500


def check_metadata(metadata: dict[str, str]) -> dict[str, str]:
    if len(metadata) > MAX_METADATA_PAIRS:
        raise Invalid(f"metadata holds at most {MAX_METADATA_PAIRS} pairs")
    for key, value in metadata.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY or len(value) > MAX_METADATA_VALUE:
            raise Invalid(
                f"metadata keys have 1 to {MAX_METADATA_KEY} characters, values at most {MAX_METADATA_VALUE}"
            )
    return metadata
