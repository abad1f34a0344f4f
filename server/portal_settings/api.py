"""``GET/PATCH /v1/portal-settings``: branding, sections, features, links, embed origins, token TTL."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch
from litestar.di import NamedDependency

from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, example_body, problems
from server.portal_settings import service as portal_settings
from server.portal_settings.schemas import (
    PORTAL_SETTINGS_PATCH_EXAMPLE,
    PortalSettingsPatch,
    PortalSettingsResource,
)


class PortalSettingsController(Controller):
    path = "/v1/portal-settings"
    tags = ["portal-settings"]
    security = API_KEY_SECURITY

    @get("/", operation_id="getPortalSettings", responses=problems())
    async def get_portal_settings(self, org: NamedDependency[Organization]) -> PortalSettingsResource:
        """Your portal settings, with defaults for everything never set."""
        return await portal_settings.get_portal_settings(org.id)

    @patch("/", operation_id="updatePortalSettings", responses=problems(writes=True))
    async def update_portal_settings(
        self,
        org: NamedDependency[Organization],
        data: Annotated[PortalSettingsPatch, example_body(PORTAL_SETTINGS_PATCH_EXAMPLE)],  # type: ignore[valid-type]
    ) -> PortalSettingsResource:
        """Change some settings: nested objects merge field by field; lists and maps are replaced whole.
        Colours, lengths, fonts and links must follow the documented grammar (422 otherwise)."""
        return await portal_settings.update_portal_settings(org.id, data)
