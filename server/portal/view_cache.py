"""Rendered view fragments, kept in memory and keyed by everything they are built from.

A view opened without parameters is a pure function of the customer's rows, the merchant's rows and the
session's scopes. Database triggers bump a version number for the customer or merchant whenever one of
those rows changes (``ss_cache_version``), and the session lookup reads both numbers in the same query, so
a fragment whose versions are current is exactly what rendering again would produce, whichever process
made the change. Entries also age out after ``TTL``: the signed download links a view carries live an hour,
and a few labels depend on today's date."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from server import clock
from server.auth.sessions import LiveSession

TTL = timedelta(seconds=60)
MAX_ENTRIES = 2000
"""About 10 KB a fragment: at most ~20 MB a process."""

Key = tuple[str, str, int, str, int, str, bool, str]


def key_for(view: str, session: LiveSession, locale: str) -> Key:
    """Hosted and embedded fragments differ (the hosted one manages connected sign-in accounts): the
    CSRF part tells them apart (only hosted sessions carry a CSRF secret). ``locale`` is the one the frame
    asked for (``LOCALE_HEADER``), which picks the fragment's language with the customer's rows."""
    return (
        view,
        str(session.customer_id),
        session.customer_version,
        str(session.org_id),
        session.org_version,
        session.scopes,
        bool(session.csrf_secret),
        locale,
    )


class ViewCache:
    """A bounded least-recently-used map from ``key_for`` to HTML."""

    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: timedelta = TTL) -> None:
        self._entries: OrderedDict[Key, tuple[datetime, str]] = OrderedDict()
        self._making: dict[Key, asyncio.Future[str]] = {}
        self._max_entries = max_entries
        self._ttl = ttl

    def get(self, key: Key) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, html = entry
        if clock.now() - stored_at >= self._ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return html

    async def get_or_make(self, key: Key, make: Callable[[], Awaitable[str]]) -> str:
        """The fragment for ``key``. On a miss ``make`` renders it once, however many requests ask for it at
        the same moment (a popular view just invalidated would otherwise be rendered by each of them)."""
        html = self.get(key)
        if html is not None:
            return html
        making = self._making.get(key)
        if making is None:
            making = self._making[key] = asyncio.ensure_future(make())
            making.add_done_callback(lambda done: self._made(key, done))
        return await asyncio.shield(making)  # one asker leaving does not stop the others' render

    def _made(self, key: Key, done: asyncio.Future[str]) -> None:
        if self._making.get(key) is done:
            del self._making[key]
        if not done.cancelled() and done.exception() is None:
            self.put(key, done.result())

    def put(self, key: Key, html: str) -> None:
        self._entries[key] = (clock.now(), html)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
