"""``create_app(settings)``: the only place where the pieces are wired together."""

from __future__ import annotations

import asyncio
import os

from litestar import Litestar
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from piccolo.engine.base import Engine

import server
from server.activity import acting_middleware
from server.analytics.portal_analytics import PendingEvents
from server.api import ROUTE_HANDLERS
from server.api.idempotency import IdempotencyMiddleware
from server.auth.replay import replay_store_for
from server.billing.payment_providers import configure as configure_payment_providers
from server.console.routes import CONSOLE_ROUTE_HANDLERS
from server.db.engine import bind_tables, close_engine, engine_from_url, open_engine
from server.errors import DomainError
from server.health import health, live
from server.home import home
from server.http.allow import AllowHeaderMiddleware
from server.http.openapi import SECURITY_SCHEMES
from server.http.strict_json import ClosedStructSchemaPlugin, StrictJsonBodyMiddleware
from server.http.types import AnyRequest
from server.jobs import JOBS
from server.organizations.deps import provide_org
from server.paths import STATIC_DIR, TEMPLATES_DIR
from server.portal.rendering import configure_jinja
from server.portal.routes import PORTAL_ROUTE_HANDLERS
from server.portal.view_cache import ViewCache
from server.problems import domain_error_handler, http_error_handler, unexpected_error_handler
from server.security.headers import drop_head_body, security_headers
from server.security.keyring import Keyring
from server.security.ratelimit import rate_limiter_for
from server.settings import Settings
from server.state import AppState, app_state
from server.worker import BackgroundWorker, JobContext


def provide_settings(request: AnyRequest) -> Settings:
    """The ``settings`` dependency of every handler."""
    return app_state(request).settings


def provide_keyring(request: AnyRequest) -> Keyring:
    """The ``keyring`` dependency of every handler."""
    return app_state(request).keyring


def provide_portal_events(request: AnyRequest) -> PendingEvents:
    """The ``portal_events`` dependency: portal analytics events not yet written."""
    return app_state(request).portal_events


def create_app(
    settings: Settings,
    engine: Engine | None = None,  # type: ignore[type-arg]
    *,
    run_worker: bool = False,
) -> Litestar:
    """The application. Pass ``engine`` to share one the caller opened (tests); the app then leaves its
    lifecycle to the caller. ``run_worker`` runs the background jobs in this process while it serves."""
    owns_engine = engine is None
    configure_payment_providers(settings, Keyring(settings.secret_keys))
    worker = (
        BackgroundWorker(JOBS, JobContext(settings, Keyring(settings.secret_keys))) if run_worker else None
    )
    engine = engine or engine_from_url(settings.database_url)
    bind_tables(engine)

    portal_events = PendingEvents()
    flusher: list[asyncio.Task[None]] = []

    async def flush_every_second() -> None:
        while True:
            await asyncio.sleep(PendingEvents.FLUSH_EVERY.total_seconds())
            await portal_events.flush()

    async def on_startup() -> None:
        if owns_engine:
            await open_engine(engine)
        flusher.append(asyncio.create_task(flush_every_second()))
        if worker is not None:
            worker.start()

    async def on_shutdown() -> None:
        if worker is not None:
            await worker.stop()
        for task in flusher:
            task.cancel()
        await portal_events.flush()
        if owns_engine:
            await close_engine(engine)

    return Litestar(
        route_handlers=[
            home,
            health,
            live,
            *ROUTE_HANDLERS,
            *PORTAL_ROUTE_HANDLERS,
            *CONSOLE_ROUTE_HANDLERS,
            create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False),
        ],
        dependencies={
            "org": Provide(provide_org),
            "keyring": Provide(provide_keyring, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "portal_events": Provide(provide_portal_events, sync_to_thread=False),
        },
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
        openapi_config=OpenAPIConfig(
            title="selfserve",
            version=server.__version__,
            description="Merchant API of the selfserve customer portal.",
            path="/schema",
            components=Components(security_schemes=SECURITY_SCHEMES),
        ),
        template_config=TemplateConfig(
            directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=configure_jinja
        ),
        before_send=[security_headers(settings.public_url), drop_head_body],
        middleware=[
            acting_middleware,
            IdempotencyMiddleware(max_body_bytes=settings.max_body_bytes),
            StrictJsonBodyMiddleware(max_body_bytes=settings.max_body_bytes),
            AllowHeaderMiddleware(),
        ],
        plugins=[ClosedStructSchemaPlugin()],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=settings.max_body_bytes,
        state=AppState(
            {
                "settings": settings,
                "keyring": Keyring(settings.secret_keys),
                "rate_limiter": rate_limiter_for(settings.redis_url),
                "replay_store": replay_store_for(settings.redis_url),
                "view_cache": ViewCache(),
                "portal_events": portal_events,
            }
        ),
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Factory for uvicorn (``--workers`` needs an import string). ``selfserve serve --no-worker`` sets
    ``SELFSERVE_RUN_WORKER=0``."""
    return create_app(Settings.from_env(), run_worker=os.environ.get("SELFSERVE_RUN_WORKER", "1") != "0")
