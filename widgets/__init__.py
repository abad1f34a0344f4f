"""The portal's views. ``REGISTRY`` is the single list of them: slug (also the module and template name),
title, the loader that builds its view model from services, and its actions.

A widget is a thin view: ``load(ctx, params)`` calls services and returns a frozen msgspec Struct; an action
calls a service and returns an ``ActionResult``; every action is a write, refused for read-only sessions by
the ``writable`` guard on the route (``server.portal.wiring``). No SQL here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from server.auth.sessions import PortalContext
from server.schemas.views import VIEW_NAMES

Params = Mapping[str, str]
Loader = Callable[[PortalContext, Params], Awaitable[msgspec.Struct]]


@dataclass(frozen=True)
class ActionResult:
    """What an action did: a message for the ``aria-live`` region and the events the host page hears."""

    message: str
    events: list[dict[str, Any]] = field(default_factory=list)
    reveal: str | None = None
    """A secret shown once with a copy button (a regenerated API key), never stored in the page state."""
    problem: bool = False
    """The action went through but left something for the customer to fix (a declined payment): the message
    is shown as an error."""
    then: dict[str, str] = field(default_factory=dict)
    """The view's parameters to show next (the next step of a flow); empty: the view as it opens."""


Action = Callable[[PortalContext, Params], Awaitable[ActionResult]]


@dataclass(frozen=True)
class View:
    slug: str
    title: str
    """An English msgid; translated when rendered."""
    load: Loader
    actions: Mapping[str, Action] = field(default_factory=dict)

    @property
    def template(self) -> str:
        return f"widgets/{self.slug}.html"


def _registry() -> tuple[View, ...]:
    """The view of each name in ``server.schemas.views``, in that order; a name without its view fails."""
    from widgets import orders, overview, settings, subscriptions, usage, wallet

    by_name = {
        v.slug: v
        for v in (overview.VIEW, subscriptions.VIEW, orders.VIEW, usage.VIEW, wallet.VIEW, settings.VIEW)
    }
    if set(by_name) != set(VIEW_NAMES):
        raise RuntimeError(f"the widgets {sorted(by_name)} are not the views {VIEW_NAMES}")
    return tuple(by_name[name] for name in VIEW_NAMES)


REGISTRY: tuple[View, ...] = _registry()
VIEWS: dict[str, View] = {view.slug: view for view in REGISTRY}
