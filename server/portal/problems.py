"""What a customer reads when a portal action fails.

A service's own words when they were written for people (raised with a message that went through ``_``, so in
the customer's language), a decline in the customer's words, else a message for the kind of error: never a
developer's English text ("no price 1f3...") on a customer's page."""

from __future__ import annotations

from server.billing.providers import decline_reason
from server.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, PaymentFailed, RateLimited
from server.i18n import Said
from server.i18n import gettext as _


def customer_message(exc: DomainError) -> str:
    if isinstance(exc, PaymentFailed):
        return decline_reason(exc.detail)
    if isinstance(exc.detail, Said):
        return exc.detail
    if isinstance(exc, NotFound):
        return _("We could not find that any more. Please reload the page and try again.")
    if isinstance(exc, Conflict):
        return _("Something changed in the meantime. Please reload the page and try again.")
    if isinstance(exc, Invalid):
        return _("That could not be done. Please check what you entered and try again.")
    if isinstance(exc, Forbidden):
        return _("That cannot be done from this portal.")
    if isinstance(exc, RateLimited):
        return _("Too many attempts. Please wait a moment and try again.")
    return _("That could not be done right now. Please try again later.")
