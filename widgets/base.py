"""What a view is made of: its loader, its actions and what an action answers (the views themselves and
their registry: ``widgets``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from server.auth.sessions import PortalContext

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
