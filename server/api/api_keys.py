"""Secret API keys: list, create (shown once), revoke."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.api.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.db.tables import Organization
from server.schemas.api_keys import ApiKeyCreate, ApiKeyOut, CreatedApiKeyOut
from server.schemas.common import Page
from server.security.keyring import Keyring
from server.services import api_keys


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ["api-keys"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listApiKeys", responses=problems(422))
    async def list_api_keys(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[ApiKeyOut]:
        """Your keys, revoked ones included; never the keys themselves."""
        page = await api_keys.list_api_keys(org.id, limit=limit, cursor=cursor)
        return Page(items=[ApiKeyOut.of(k) for k in page.items], next_cursor=page.next_cursor)

    @post("/", operation_id="createApiKey", responses=problems(writes=True))
    async def create_api_key(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        data: Annotated[ApiKeyCreate, example_body({"name": "billing backend"})],
    ) -> CreatedApiKeyOut:
        """A new secret key, shown in this response only."""
        row, plaintext = await api_keys.create_api_key(keyring, org, name=data.name)
        return CreatedApiKeyOut(**msgspec.structs.asdict(ApiKeyOut.of(row)), key=plaintext)

    @delete("/{key_id:uuid}", operation_id="revokeApiKey", status_code=200, responses=problems(404))
    async def revoke_api_key(self, org: NamedDependency[Organization], key_id: FromPath[UUID]) -> ApiKeyOut:
        """Revoke a key: requests with it are refused from now on (even this key's own)."""
        return ApiKeyOut.of(await api_keys.revoke_api_key(org.id, key_id))
