"""The forms the portal's actions read: every action declares one, and what a customer may get wrong has a
message written for them."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from server.errors import Invalid
from widgets import REGISTRY
from widgets.base import Form, form_of, read_form
from widgets.settings import add_card, request_deletion
from widgets.subscriptions import cancel, change_seats

ACTIONS = [(view.slug, name, action) for view in REGISTRY for name, action in view.actions.items()]


@pytest.mark.parametrize(("view", "name", "action"), ACTIONS, ids=[f"{v}.{n}" for v, n, _ in ACTIONS])
def test_each_action_declares_its_form_and_a_prompt_for_each_field_it_can_refuse(view, name, action):
    """A field the action cannot do without, or a number the customer types, says what to enter; a value
    only a forged post gets wrong (a radio button's) may share the form's general message."""
    form = form_of(action)
    assert issubclass(form, Form)
    fields = msgspec.inspect.type_info(form).fields
    needed = {f.name for f in fields if f.required or isinstance(f.type, msgspec.inspect.IntType)}
    assert needed <= set(form.prompts) <= {f.name for f in fields}, f"{view}.{name}"


def test_spaces_do_not_matter_an_empty_field_is_absent_a_checked_box_is_true_and_08_is_8():
    read = read_form(
        add_card, {"exp_month": " 08 ", "exp_year": "30", "number": " 4242 ", "cvc": "", "make_default": "on"}
    )
    assert (read.exp_month, read.exp_year, read.number, read.cvc, read.make_default) == (
        8,
        30,
        "4242",
        "",
        True,
    )
    assert read_form(request_deletion, {}).confirm is False
    assert read_form(cancel, {"subscription_id": str(uuid.UUID(int=1)), "reason": ""}).reason is None


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        (cancel, {}, "Please choose a subscription."),
        (cancel, {"subscription_id": "abc"}, "Please choose a subscription."),
        (
            change_seats,
            {"subscription_id": str(uuid.UUID(int=1)), "seats": "-1"},
            "Please enter the number of seats.",
        ),
        (
            change_seats,
            {"subscription_id": str(uuid.UUID(int=1)), "seats": "ten"},
            "Please enter the number of seats.",
        ),
        (
            add_card,
            {"exp_month": "12", "exp_year": "next year"},
            "Please enter the expiry month and year as numbers.",
        ),
        (
            cancel,
            {"subscription_id": str(uuid.UUID(int=1)), "when": "tomorrow"},
            "That could not be done. Please check what you entered and try again.",
        ),
    ],
)
def test_a_refused_field_gets_its_prompt_never_msgspecs_text(action, data, message):
    with pytest.raises(Invalid) as refused:
        read_form(action, data)
    assert str(refused.value) == message
