"""What a view is made of: its loader, its actions and what an action answers (the views themselves and
their registry: ``widgets``)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, get_type_hints
from uuid import UUID

import msgspec

from server.auth.sessions import PortalContext
from server.errors import Invalid
from server.i18n import gettext as _

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


class Form(msgspec.Struct, kw_only=True, frozen=True):
    """What an action reads from the form it is posted with, decoded by ``read_form`` before it runs.

    Surrounding spaces never matter and an empty field is an absent one (optional fields take their
    defaults); a checked box sends ``on``, which a ``bool`` field reads as true, and a number may be typed
    with leading zeros. ``prompts`` says, per field, what the customer is asked when that field is missing
    or cannot be read, in their language."""

    prompts: ClassVar[Mapping[str, Callable[[], str]]] = {}


class NoFields(Form, frozen=True):
    """The form of an action that needs nothing but the button."""


class SubscriptionForm(Form, frozen=True):
    """The form of an action on one of the customer's subscriptions (several views have them)."""

    subscription_id: UUID
    prompts = {"subscription_id": lambda: _("Please choose a subscription.")}


Action = Callable[[PortalContext, Any], Awaitable[ActionResult]]
"""An async function ``(ctx, form)`` whose ``form`` parameter is annotated with its ``Form``."""

_PATH = re.compile(r"at `\$\.(?:[A-Za-z_]+\.)*([A-Za-z_]+)`$|missing required field `([A-Za-z_]+)`")


@cache
def form_of(action: Action) -> type[Form]:
    form: type[Form] = get_type_hints(action)["form"]
    return form


@cache
def _field_kinds(form: type[Form]) -> dict[str, msgspec.inspect.Type]:
    info = msgspec.inspect.type_info(form)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.name: f.type for f in info.fields}


def _typed(value: str, kind: msgspec.inspect.Type | None) -> str | bool:
    """A checked box's ``on`` as true; a number typed with leading zeros ("08", an expiry month) as the
    number (msgspec reads "08" as no number at all)."""
    if isinstance(kind, msgspec.inspect.BoolType) and value == "on":
        return True
    if isinstance(kind, msgspec.inspect.IntType) and value.isdigit():
        return value.lstrip("0") or "0"
    return value


def refusal(exc: msgspec.ValidationError, prompts: Mapping[str, Callable[[], str]]) -> Invalid:
    """The customer's message for a value msgspec refused: the prompt of the field it names, else a request
    to check the form (msgspec's own text is for developers)."""
    found = _PATH.search(str(exc))
    prompt = prompts.get(next(filter(None, found.groups()))) if found else None
    return Invalid(
        prompt() if prompt else _("That could not be done. Please check what you entered and try again.")
    )


def read_form(action: Action, data: Params) -> Form:
    """``data`` as the form ``action`` reads, or ``Invalid`` with the customer's message."""
    form = form_of(action)
    kinds = _field_kinds(form)
    given: dict[str, str | bool] = {}
    for name, raw in data.items():
        value = raw.strip()
        if value:
            given[name] = _typed(value, kinds.get(name))
    try:
        return msgspec.convert(given, form, strict=False)
    except msgspec.ValidationError as exc:
        raise refusal(exc, form.prompts) from exc


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
