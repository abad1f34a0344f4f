"""What a customer reads when a portal action fails: the message for the error's ``code``
(``server.errors``) in the customer's language, never a developer's English text ("no price 1f3...").

A service's own words win when they were written for people (raised with a message that went through ``_``,
so already in the customer's language), and a decline says why in the customer's words."""

from __future__ import annotations

from server.billing.providers import DECLINE_MESSAGES, N_, decline_reason
from server.errors import DomainError, PaymentFailed
from server.i18n import Said, gettext

_TRY_LATER = N_("That could not be done right now. Please try again later.")
_CHECK_INPUT = N_("That could not be done. Please check what you entered and try again.")
_NOT_HERE = N_("That cannot be done from this portal.")
_SIGNED_OUT = N_("Your session has ended. Please open the portal again.")
_LINK_USED = N_("This link has expired or was already used. Please ask for a new one.")

MESSAGES: dict[str, str] = {
    "bad_request": _TRY_LATER,
    "not_found": N_("We could not find that any more. Please reload the page and try again."),
    "conflict": N_("Something changed in the meantime. Please reload the page and try again."),
    "invalid": _CHECK_INPUT,
    "unauthorized": _SIGNED_OUT,
    "forbidden": _NOT_HERE,
    "rate_limited": N_("Too many attempts. Please wait a moment and try again."),
    "payment_failed": DECLINE_MESSAGES["card_declined"],
    "unavailable": _TRY_LATER,
    "session_expired": _SIGNED_OUT,
    "csrf": N_("This page is out of date. Please reload it and try again."),
    "token_refused": _LINK_USED,
    "link_refused": _LINK_USED,
    "sign_in_failed": N_("Signing in did not work. Please try again."),
    "discount_refused": _CHECK_INPUT,
    "unsafe_webhook_target": _CHECK_INPUT,
    "read_only": N_("This link only lets you look, not change things."),
    "sign_in_needed": _SIGNED_OUT,
    "role_refused": _NOT_HERE,
}
"""The English message id of every code (``server.errors.CODES``; a test keeps the two in step)."""


def customer_message(exc: DomainError) -> str:
    if isinstance(exc, PaymentFailed):
        return decline_reason(exc.detail)
    if isinstance(exc.detail, Said):
        return exc.detail
    return gettext(MESSAGES[exc.code])
