"""Developer settings in the console: secret API keys (created and shown once, revoked), webhook endpoints
(created with their secret shown once, secret rotation, a test event) and the delivery log with payloads,
attempts and response codes and a redeliver button. Every write is the service the /v1 API calls, with the
API's validation of what is typed in (``msgspec.convert`` into the API's own Structs)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody

from server.console.auth import Staff
from server.console.guards import requires_admin, requires_viewer
from server.console.pages import api_input, done, render_page
from server.db.tables import WebhookEvent
from server.errors import DomainError
from server.http.types import AnyRequest
from server.organizations.api_keys import create_api_key, list_api_keys, revoke_api_key
from server.state import app_state
from server.webhooks import endpoints
from server.webhooks.outbox import EVENT_TYPES
from server.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointOut
from server.webhooks.signing import message_body

PAGE = "/console/developers"
SHOWN = 50
MAX_KEY_NAME = 100
Form = URLEncodedBody[dict[str, str]]


class DevelopersController(Controller):
    path = "/developers"

    @get("/", name="console-developers", guards=[requires_viewer])
    async def page(self, request: AnyRequest, staff: NamedDependency[Staff]) -> Response[str]:
        return await developers_page(request, staff)

    @post("/api-keys", name="console-create-api-key", guards=[requires_admin])
    async def create_key(
        self,
        request: AnyRequest,
        staff: NamedDependency[Staff],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[str]:
        name = data.get("name", "").strip()
        if len(name) > 100:
            return await developers_page(
                request, staff, status=422, error="A key's name is at most 100 characters."
            )
        row, plaintext = await create_api_key(app_state(request).keyring, staff.org, name=name)
        return done(
            request,
            PAGE,
            f"API key {row.display_prefix}… created.",
            reveal=("Your new secret API key", plaintext),
        )

    @post("/api-keys/{key_id:uuid}/revoke", name="console-revoke-api-key", guards=[requires_admin])
    async def revoke_key(
        self, request: AnyRequest, staff: NamedDependency[Staff], key_id: FromPath[UUID]
    ) -> Response[str]:
        row = await revoke_api_key(staff.org.id, key_id)
        return done(request, PAGE, f"API key {row.display_prefix}… revoked.")

    @post("/webhooks", name="console-create-webhook", guards=[requires_admin])
    async def create_webhook(self, request: AnyRequest, staff: NamedDependency[Staff]) -> Response[str]:
        form = await request.form()
        fields = {
            "url": str(form.get("url", "")).strip(),
            "description": str(form.get("description", "")).strip(),
            "event_types": [str(t) for t in form.getall("event_types")] if "event_types" in form else [],
        }
        try:
            endpoint, secret = await endpoints.create_endpoint(
                staff.org.id,
                app_state(request).keyring,
                api_input(fields, WebhookEndpointCreate),
                allow_local=app_state(request).settings.allow_local_webhooks,
            )
        except DomainError as exc:
            return await developers_page(request, staff, status=exc.status, error=exc.detail, form=fields)
        return done(request, PAGE, f"Endpoint {endpoint.url} added.", reveal=("Its signing secret", secret))

    @post("/webhooks/{endpoint_id:uuid}/rotate", name="console-rotate-webhook", guards=[requires_admin])
    async def rotate(
        self, request: AnyRequest, staff: NamedDependency[Staff], endpoint_id: FromPath[UUID]
    ) -> Response[str]:
        endpoint, secret = await endpoints.rotate_secret(
            staff.org.id, app_state(request).keyring, endpoint_id
        )
        return done(
            request,
            PAGE,
            f"New secret for {endpoint.url}; the previous one keeps signing beside it for 24 hours.",
            reveal=("The new signing secret", secret),
        )

    @post("/webhooks/{endpoint_id:uuid}/test", name="console-test-webhook", guards=[requires_admin])
    async def test_event(
        self, request: AnyRequest, staff: NamedDependency[Staff], endpoint_id: FromPath[UUID]
    ) -> Response[str]:
        delivery = await endpoints.send_test_event(staff.org.id, endpoint_id)
        message = f"A {endpoints.TEST_EVENT} event is on its way (delivery {delivery.id})."
        return done(request, PAGE, message)

    @post("/deliveries/{delivery_id:uuid}/redeliver", name="console-redeliver", guards=[requires_admin])
    async def redeliver(
        self, request: AnyRequest, staff: NamedDependency[Staff], delivery_id: FromPath[UUID]
    ) -> Response[str]:
        try:
            delivery = await endpoints.redeliver(staff.org.id, delivery_id)
        except DomainError as exc:
            return await developers_page(request, staff, status=exc.status, error=exc.detail)
        return done(request, PAGE, f"Delivery {delivery.id} is being sent again.")


def sent_body(event: WebhookEvent) -> str:
    """The JSON body a delivery of ``event`` carries (``message_body``), indented to be read."""
    payload = event.payload
    data = msgspec.json.decode(payload) if isinstance(payload, str | bytes) else payload
    body = msgspec.json.decode(message_body(event.type, event.created_at, data))
    return msgspec.json.format(msgspec.json.encode(body), indent=2).decode()


async def developers_page(
    request: AnyRequest, staff: Staff, *, status: int = 200, **extra: Any
) -> Response[str]:
    org_id = staff.org.id
    keys = await list_api_keys(org_id, limit=100)
    hooks = await endpoints.list_endpoints(org_id, limit=100)
    deliveries = (await endpoints.list_deliveries(org_id, limit=SHOWN, newest_first=True)).items
    urls = {str(e.id): e.url for e in hooks.items}
    return render_page(
        request,
        "console/developers.html",
        status=status,
        keys=sorted(keys.items, key=lambda k: k.revoked_at is not None),
        endpoints=[WebhookEndpointOut.of(e) for e in hooks.items],
        event_types=EVENT_TYPES,
        deliveries=deliveries,
        attempts=await endpoints.attempts_of(org_id, [d.id for d in deliveries]),
        bodies={str(d.id): sent_body(d.event) for d in deliveries},
        urls=urls,
        **extra,
    )
