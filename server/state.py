"""The application's shared services, typed. ``create_app`` builds one ``AppState`` and hands the parts a
handler needs to it as dependencies (``settings``, ``keyring``, ``portal_events``); middleware and helpers
read it through ``app_state(connection)`` instead of untyped ``app.state`` keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State

if TYPE_CHECKING:
    from server.analytics.portal_analytics import PendingEvents
    from server.auth.replay import DatabaseReplayStore, RedisReplayStore
    from server.portal.view_cache import ViewCache
    from server.security.keyring import Keyring
    from server.security.ratelimit import MemoryRateLimiter, RedisRateLimiter
    from server.settings import Settings


class AppState(State):
    settings: Settings
    keyring: Keyring
    rate_limiter: MemoryRateLimiter | RedisRateLimiter
    replay_store: DatabaseReplayStore | RedisReplayStore
    view_cache: ViewCache
    portal_events: PendingEvents


def app_state(connection: ASGIConnection[Any, Any, Any, Any]) -> AppState:
    state = connection.app.state
    if not isinstance(state, AppState):  # pragma: no cover - create_app always builds an AppState
        raise TypeError("the application was not made by create_app")
    return state
