"""Meters: turn usage events into numbers per customer and period."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.api.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.db.tables import Organization
from server.schemas.catalog import METER_EXAMPLE, MeterCreate, MeterOut, MeterUpdate
from server.schemas.common import Page
from server.services import catalog


class MeterController(Controller):
    path = "/v1/meters"
    tags = ["meters"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createMeter", responses=problems(writes=True))
    async def create_meter(
        self, org: NamedDependency[Organization], data: Annotated[MeterCreate, example_body(METER_EXAMPLE)]
    ) -> MeterOut:
        """Create a meter; its ``event_name`` must be unique among your live meters (else 409)."""
        return MeterOut.of(await catalog.create_meter(org.id, data))

    @get("/", operation_id="listMeters", responses=problems(422))
    async def list_meters(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[MeterOut]:
        """Live meters, oldest first."""
        page = await catalog.list_meters(org.id, limit=limit, cursor=cursor)
        return Page(items=[MeterOut.of(m) for m in page.items], next_cursor=page.next_cursor)

    @get("/{meter_id:uuid}", operation_id="getMeter", responses=problems(404))
    async def get_meter(self, org: NamedDependency[Organization], meter_id: FromPath[UUID]) -> MeterOut:
        """One meter, archived ones included."""
        return MeterOut.of(await catalog.get_meter(org.id, meter_id))

    @patch("/{meter_id:uuid}", operation_id="updateMeter", responses=problems(404, writes=True))
    async def update_meter(
        self,
        org: NamedDependency[Organization],
        meter_id: FromPath[UUID],
        data: Annotated[MeterUpdate, example_body({"name": "API requests", "visible_in_portal": False})],
    ) -> MeterOut:
        """Rename a meter or hide it from the portal; what it counts never changes."""
        return MeterOut.of(await catalog.update_meter(org.id, meter_id, data))

    @post(
        "/{meter_id:uuid}/archive",
        operation_id="archiveMeter",
        status_code=200,
        responses=problems(404, writes=True),
    )
    async def archive_meter(self, org: NamedDependency[Organization], meter_id: FromPath[UUID]) -> MeterOut:
        """Archive a meter: it stops appearing in lists; prices using it keep billing."""
        return MeterOut.of(await catalog.archive_meter(org.id, meter_id))
