"""Brand tokens as CSS custom properties, with text colours picked for WCAG AA contrast."""

from __future__ import annotations

import re

from server.schemas.portal_settings import Branding

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
DARK_TEXT, LIGHT_TEXT = "#111827", "#ffffff"


def _rgb(color: str) -> tuple[float, float, float] | None:
    if not _HEX.match(color):
        return None
    digits = color[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def relative_luminance(color: str) -> float | None:
    rgb = _rgb(color)
    if rgb is None:
        return None

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float | None:
    la, lb = relative_luminance(a), relative_luminance(b)
    if la is None or lb is None:
        return None
    light, dark = max(la, lb), min(la, lb)
    return (light + 0.05) / (dark + 0.05)


def text_on(background: str) -> str:
    """Dark or light text, whichever contrasts more with ``background`` (AA needs 4.5:1 for body text)."""
    dark = contrast_ratio(background, DARK_TEXT)
    light = contrast_ratio(background, LIGHT_TEXT)
    if dark is None or light is None:
        return LIGHT_TEXT
    return DARK_TEXT if dark >= light else LIGHT_TEXT


def css_variables(branding: Branding) -> dict[str, str]:
    """The custom properties the portal stylesheet reads. Values were validated by the settings grammar."""
    return {
        "--ss-primary": branding.primary_color,
        "--ss-on-primary": text_on(branding.primary_color),
        "--ss-radius": branding.radius,
        "--ss-font": branding.font_family,
        "--ss-brand-bg": branding.background_color,
        "--ss-brand-text": branding.text_color,
    }
