"""``POST /v1/events``: usage ingestion, up to 1,000 events per call."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.di import NamedDependency

from server.api.openapi import API_KEY_SECURITY, example_body, problems
from server.db.tables import Organization
from server.schemas.billing import EVENTS_EXAMPLE, EventBatch
from server.services import usage
from server.services.usage import IngestResult


class EventController(Controller):
    path = "/v1/events"
    tags = ["events"]
    security = API_KEY_SECURITY

    @post("/", operation_id="ingestEvents", status_code=200, responses=problems(404, writes=True))
    async def ingest_events(
        self, org: NamedDependency[Organization], data: Annotated[EventBatch, example_body(EVENTS_EXAMPLE)]
    ) -> IngestResult:
        """Record usage events, each for a customer id or external id. An ``event_id`` already seen is
        skipped (``duplicates``), so retrying a batch is safe; a bad event refuses the whole batch."""
        return await usage.ingest_events(org.id, data.events)
