"""The organization the API key belongs to."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from server.api.openapi import API_KEY_SECURITY, problems
from server.db.tables import Organization


class OrganizationOut(msgspec.Struct, frozen=True):
    id: str
    name: str
    slug: str
    allowed_origins: list[str]
    created_at: datetime


class OrganizationController(Controller):
    path = "/v1/organization"
    tags = ["organization"]
    security = API_KEY_SECURITY

    @get("/", operation_id="getOrganization", responses=problems())
    async def get_organization(self, org: NamedDependency[Organization]) -> OrganizationOut:
        """The merchant this key belongs to: a cheap way to check a key works."""
        origins = org.allowed_origins
        if isinstance(origins, str):
            origins = msgspec.json.decode(origins)
        return OrganizationOut(
            id=str(org.id),
            name=org.name,
            slug=org.slug,
            allowed_origins=list(origins),
            created_at=org.created_at,
        )
