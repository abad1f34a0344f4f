"""Every console route, for the app to mount: the sign-in pages, and the rest behind ``signed_in``."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get
from litestar.di import NamedDependency, Provide

from server.analytics.merchant_overview import overview
from server.analytics.portal_analytics import list_merchant_activity
from server.console.analytics import AnalyticsController
from server.console.auth import Staff
from server.console.customers import CustomersController
from server.console.developers import DevelopersController
from server.console.guards import requires_viewer, signed_in, staff_of
from server.console.pages import EXCEPTION_HANDLERS, render_page
from server.console.portal import PortalSettingsController
from server.console.signin import login_page, open_console, request_link, second_factor
from server.console.team import TeamController
from server.http.types import AnyRequest
from server.state import app_state

ACTIVITY_SHOWN = 20
ACTIVITY_LABELS = {
    "api_key.created": "created API key",
    "api_key.revoked": "revoked API key",
    "webhook_endpoint.created": "added webhook endpoint",
    "webhook_endpoint.updated": "changed webhook endpoint",
    "webhook_endpoint.deleted": "deleted webhook endpoint",
    "webhook_endpoint.secret_rotated": "rotated the signing secret of webhook endpoint",
    "webhook_endpoint.test_sent": "sent a test event to webhook endpoint",
    "webhook_delivery.redelivered": "redelivered webhook delivery",
    "portal_settings.updated": "saved the portal settings",
    "retention_settings.updated": "saved the retention offers",
    "oauth_provider.set": "set up sign-in with",
    "oauth_provider.removed": "removed sign-in with",
    "staff.added": "added a team member",
    "staff.removed": "removed a team member",
}
"""How the home page's activity list words each merchant event (``MERCHANT_EVENTS``)."""


def provide_staff(request: AnyRequest) -> Staff:
    return staff_of(request)


@get("/", name="console-home", guards=[requires_viewer])
async def home(request: AnyRequest, staff: NamedDependency[Staff]) -> Response[str]:
    await app_state(request).portal_events.flush()
    return render_page(
        request,
        "console/home.html",
        overview=await overview(staff.org.id),
        activity=await list_merchant_activity(staff.org.id, limit=ACTIVITY_SHOWN),
        labels=ACTIVITY_LABELS,
    )


CONSOLE_ROUTE_HANDLERS: list[Any] = [
    Router(
        path="/",
        route_handlers=[login_page, request_link, open_console, second_factor],
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    ),
    Router(
        path="/console",
        route_handlers=[
            home,
            CustomersController,
            PortalSettingsController,
            DevelopersController,
            AnalyticsController,
            TeamController,
        ],
        guards=[signed_in],
        dependencies={"staff": Provide(provide_staff, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    ),
]
