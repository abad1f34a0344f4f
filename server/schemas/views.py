"""The portal's views by name, in the order the portal shows them: the one list that the widget registry
(``widgets.REGISTRY``, a module per name) and the views a portal token may be scoped to derive from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from server.errors import Invalid

ViewName = Literal["overview", "subscriptions", "orders", "usage", "wallet", "settings"]
VIEW_NAMES: tuple[ViewName, ...] = get_args(ViewName)


def check_view_names(names: Iterable[str]) -> None:
    """A token scoped to a view the portal does not have would open onto nothing: refused (422)."""
    unknown = [name for name in names if name not in VIEW_NAMES]
    if unknown:
        raise Invalid(f"unknown views {', '.join(unknown)}; the portal's views are {', '.join(VIEW_NAMES)}")
