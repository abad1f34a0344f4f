"""Litestar wiring of the portal's session routes (``EmbedController``): the ``session`` and ``ctx``
dependencies, the ``writable`` guard on every write and the one response for an expired session.

The session is found once per request, whichever of guard and dependencies asks first: the bearer session of
an embed, else the hosted page's cookie session (whose writes need its CSRF token). A presented session that
is not live counts as a failed lookup of the client's address."""

from __future__ import annotations

from typing import cast

import msgspec
from litestar import Response
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ExceptionHandlersMap

from server.auth.sessions import (
    LiveSession,
    PortalContext,
    SessionExpired,
    SessionScopes,
    find_session,
    load_context,
)
from server.enums import SessionKind
from server.errors import Forbidden
from server.http.types import AnyConnection, AnyRequest
from server.i18n import gettext as _
from server.portal.login import cookie_session
from server.security.ratelimit import count_failed_lookup, refuse_while_failing
from server.state import app_state

_SESSION_KEY = "selfserve_portal_session"


class ReadOnlySession(Forbidden):
    """A write through a read-only link (or a staff member's look); such pages show no controls."""

    code = "read_only"


def bearer_secret(connection: AnyConnection) -> str:
    scheme, _sep, secret = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise SessionExpired("no session")
    return secret.strip()


async def _find(connection: AnyRequest) -> LiveSession:
    if "authorization" not in connection.headers:
        return await cookie_session(connection)
    await refuse_while_failing(connection)
    try:
        return await find_session(bearer_secret(connection), SessionKind.EMBED)
    except SessionExpired:
        await count_failed_lookup(connection)
        raise


async def provide_session(request: AnyRequest) -> LiveSession:
    """The request's live portal session (dependency ``session``)."""
    state = request.scope["state"]
    found: LiveSession | None = state.get(_SESSION_KEY)
    if found is None:
        found = state[_SESSION_KEY] = await _find(request)
    return found


async def load_portal_context(connection: AnyConnection, session: LiveSession) -> PortalContext:
    """The session's merchant and customer read now (after an action, the rows it may have changed)."""
    state = app_state(connection)
    return await load_context(session, state.keyring, state.settings.public_url)


async def provide_portal_context(request: AnyRequest, session: NamedDependency[LiveSession]) -> PortalContext:
    """Who is looking (dependency ``ctx``): org, customer and the session's scopes."""
    return await load_portal_context(request, session)


def scopes_of_session(session: LiveSession) -> SessionScopes:
    return msgspec.json.decode(session.scopes, type=SessionScopes)


async def writable(connection: AnyConnection, _handler: BaseRouteHandler) -> None:
    """Guard of every portal write: read-only links show no controls; this refuses a write that arrives
    anyway."""
    session = await provide_session(cast(AnyRequest, connection))  # an HTTP route's guard gets its Request
    if scopes_of_session(session).read_only:
        raise ReadOnlySession(_("This link only lets you look, not change things."))


def session_expired(_request: AnyRequest, exc: SessionExpired) -> Response[dict[str, str]]:
    """What the frame script reads as "ask the host page for a fresh token" (EMBEDDING.md)."""
    return Response({"code": exc.code}, status_code=401, headers={"cache-control": "no-store"})


SESSION_EXCEPTION_HANDLERS: ExceptionHandlersMap = {SessionExpired: session_expired}
