"""``POST /v1/events``: usage ingestion, up to 1,000 events per call."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.di import NamedDependency

from server.api.openapi import API_KEY_SECURITY, example_body, problems
from server.db.tables import Organization
from server.schemas.billing import EVENTS_EXAMPLE
from server.schemas.usage import EventBatch, EventsIngestedOut
from server.security.keyring import Keyring
from server.services import usage_ingestion
from server.services.usage_alerts import Notifier
from server.state import AnyRequest, app_state


class EventController(Controller):
    path = "/v1/events"
    tags = ["events"]
    security = API_KEY_SECURITY

    @post("/", operation_id="ingestEvents", status_code=200, responses=problems(404, writes=True))
    async def ingest_events(
        self,
        request: AnyRequest,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        data: Annotated[EventBatch, example_body(EVENTS_EXAMPLE)],
    ) -> EventsIngestedOut:
        """Record usage events, each for a customer id or external id. An ``event_id`` already seen is
        skipped (``duplicates``), so retrying a batch is safe; a bad event refuses the whole batch. Usage
        alerts the new usage reaches notify once per period (``usage.threshold_reached``), and so do
        spend caps (``usage.cap_reached``); ``capped_customers`` lists the batch's customers whose cap is
        reached."""
        notifier = Notifier(keyring=keyring, public_url=app_state(request).settings.public_url)
        return EventsIngestedOut.of(await usage_ingestion.ingest(notifier, org.id, data.events))
