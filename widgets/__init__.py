"""The portal's views. ``REGISTRY`` is the single list of them: slug (also the module and template name),
title, the loader that builds its view model from services, and its actions.

A widget is a thin view: ``load(ctx, params)`` calls services and returns a frozen msgspec Struct; an action
calls a service and returns an ``ActionResult``; every action is a write, refused for read-only sessions by
the ``writable`` guard on the route (``server.portal.wiring``). No SQL here."""

from __future__ import annotations

from server.schemas.views import VIEW_NAMES
from widgets import orders, overview, settings, subscriptions, usage, wallet
from widgets.base import Action, ActionResult, Loader, Params, View

__all__ = ["REGISTRY", "VIEWS", "Action", "ActionResult", "Loader", "Params", "View"]


def _registry() -> tuple[View, ...]:
    """The view of each name in ``server.schemas.views``, in that order; a name without its view fails."""
    by_name = {
        v.slug: v
        for v in (overview.VIEW, subscriptions.VIEW, orders.VIEW, usage.VIEW, wallet.VIEW, settings.VIEW)
    }
    if set(by_name) != set(VIEW_NAMES):
        raise RuntimeError(f"the widgets {sorted(by_name)} are not the views {VIEW_NAMES}")
    return tuple(by_name[name] for name in VIEW_NAMES)


REGISTRY: tuple[View, ...] = _registry()
VIEWS: dict[str, View] = {view.slug: view for view in REGISTRY}
