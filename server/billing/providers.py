"""The seam between billing and whoever moves the money: ``sandbox`` (the default, no money moves) and
``stripe`` (chosen per merchant, ``server.billing.payment_providers``).

A provider holds saved, reusable card references (never the number or CVC on our side), charges a reference
and refunds a payment. Charges carry an idempotency key so a job that crashed after charging and runs again
gets the first result back instead of charging twice. How a card gets saved differs: the sandbox takes test
numbers through our own form, Stripe takes the card in Stripe.js and we only see the result.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from server.i18n import gettext


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it (it is translated where it is shown)."""
    return message


DECLINE_MESSAGES = {
    "card_declined": N_("The card was declined."),
    "insufficient_funds": N_("The card has insufficient funds."),
    "lost_card": N_("The card was declined (reported lost)."),
    "stolen_card": N_("The card was declined (reported stolen)."),
    "expired_card": N_("The card has expired."),
    "incorrect_cvc": N_("The card's security code is incorrect."),
    "incorrect_number": N_("The card number is incorrect."),
    "limit_exceeded": N_("The card's limit has been reached; try another card or try again later."),
    "authentication_required": N_("The bank asks you to confirm this payment."),
    "authentication_failed": N_("The bank could not confirm this payment; try again or use another card."),
    "processing_error": N_("The payment could not be processed; it will be tried again."),
    "no_payment_method": N_("There is no payment method to charge."),
}
"""What a decline says, by our own code: English in the API, the customer's language in the portal
(``decline_reason``). Any code not listed says ``card_declined``'s words: a processor's own message is never
shown."""

PROCESSOR_CODES = {
    "generic_decline": "card_declined",
    "do_not_honor": "card_declined",
    "invalid_cvc": "incorrect_cvc",
    "invalid_number": "incorrect_number",
    "invalid_expiry_month": "expired_card",
    "invalid_expiry_year": "expired_card",
    "pickup_card": "lost_card",
    "card_velocity_exceeded": "limit_exceeded",
    "withdrawal_count_limit_exceeded": "limit_exceeded",
    "payment_intent_authentication_failure": "authentication_failed",
    "try_again_later": "processing_error",
}
"""A processor's decline and error codes that mean one of ours under another name."""


def decline_code(processor_code: str) -> str:
    """Our code for a processor's decline code (``card_declined`` for one we do not know)."""
    code = PROCESSOR_CODES.get(processor_code, processor_code)
    return code if code in DECLINE_MESSAGES else "card_declined"


def decline_message(code: str) -> str:
    return DECLINE_MESSAGES[decline_code(code)]


def decline_reason(message: str) -> str:
    """A stored or raised decline message in the active locale; a text that is not one of ours (an old
    row, a processor's words) says the generic decline."""
    ours = message if message in DECLINE_MESSAGES.values() else DECLINE_MESSAGES["card_declined"]
    return gettext(ours)


class CardDetails(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    exp_month: int
    exp_year: int
    cvc: str

    def __repr__(self) -> str:  # never let a card number reach a log or a traceback
        return "CardDetails(<redacted>)"


class SavedCard(msgspec.Struct, frozen=True, kw_only=True):
    """What may be stored about a card: the provider's reference and what the customer recognises it by."""

    provider_ref: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class ChargeResult(msgspec.Struct, frozen=True, kw_only=True):
    succeeded: bool
    reference: str = ""
    """The provider's payment (what a refund refers to), also of a failed or unconfirmed attempt."""
    decline_code: str = ""
    message: str = ""
    needs_confirmation: bool = False
    """The bank asks the customer to authenticate (3-D Secure) before the payment can go through."""


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self, provider_ref: str, amount: int, currency: str, *, idempotency_key: str, order_id: str = ""
    ) -> ChargeResult:
        """Charge the saved card ``provider_ref`` without the customer present, for the order ``order_id``
        (a processor that sends news of its payments later keeps it with the payment)."""
        ...

    async def refund(self, payment_ref: str, amount: int, currency: str, *, idempotency_key: str) -> str:
        """Send ``amount`` of the payment ``payment_ref`` back to its card; return the refund's reference."""
        ...
