"""``/v1/portal-settings`` in and out: the portal settings plus the org's allowed embed origins. The PATCH
body mirrors that shape with every field optional at every depth (generated, so it can never drift)."""

from __future__ import annotations

from typing import Annotated, Any, Union

import msgspec
from msgspec import UNSET, Meta, UnsetType

from server.schemas.portal_settings import PortalSettings

Origin = Annotated[str, Meta(examples=["https://app.example.com"])]


class PortalSettingsResource(PortalSettings, kw_only=True, forbid_unknown_fields=True):
    allowed_origins: Annotated[list[Origin], Meta(max_length=50)] = msgspec.field(default_factory=list)
    """Parent pages that may embed the portal: exact origins or ``https://*.example.com``; plain http only
    for localhost and private addresses; never ``*``."""


def _patch_of(cls: type[msgspec.Struct]) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any, Any]] = []
    for field in msgspec.structs.fields(cls):
        kind = field.type
        if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            kind = _patch_of(kind)
        fields.append((field.name, Union[kind, UnsetType], UNSET))  # noqa: UP007 (built at run time)
    return msgspec.defstruct(
        cls.__name__.removesuffix("Resource") + "Patch",
        fields,
        kw_only=True,
        forbid_unknown_fields=True,
        module=__name__,
    )


PortalSettingsPatch = _patch_of(PortalSettingsResource)
"""Every field optional; nested objects merge field by field; lists and maps replace the whole value."""


def apply_patch(current: msgspec.Struct, patch: msgspec.Struct) -> Any:
    """``current`` with the fields ``patch`` sets; nested structs are patched, not replaced."""
    changes = {}
    for name in patch.__struct_fields__:
        value = getattr(patch, name)
        if value is UNSET:
            continue
        if isinstance(value, msgspec.Struct):
            value = apply_patch(getattr(current, name), value)
        changes[name] = value
    return msgspec.structs.replace(current, **changes)


PORTAL_SETTINGS_PATCH_EXAMPLE = {
    "branding": {
        "primary_color": "#0f766e",
        "radius": "12px",
        "logo_url": "https://cdn.example.com/logo.svg",
    },
    "welcome_message": "Manage your plan, invoices and team seats.",
    "sections": {"wallet": False},
    "features": {"pause": True, "cancellation_reasons": ["too_expensive", "unused", "other"]},
    "allowed_origins": ["https://app.example.com"],
    "default_token_ttl": 900,
}
