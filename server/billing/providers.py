"""The seam between billing and whoever moves the money: ``sandbox`` (the default, no money moves) and
``stripe`` (chosen per merchant, ``server.services.payment_providers``).

A provider holds saved, reusable card references (never the number or CVC on our side), charges a reference
and refunds a payment. Charges carry an idempotency key so a job that crashed after charging and runs again
gets the first result back instead of charging twice. How a card gets saved differs: the sandbox takes test
numbers through our own form, Stripe takes the card in Stripe.js and we only see the result.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

DECLINE_MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "lost_card": "The card was declined (reported lost).",
    "stolen_card": "The card was declined (reported stolen).",
    "expired_card": "The card has expired.",
    "incorrect_cvc": "The card's security code is incorrect.",
    "authentication_required": "The bank asks you to confirm this payment.",
    "processing_error": "The payment could not be processed; it will be tried again.",
}
"""What a decline says, by code; any code not listed says ``card_declined``'s words (a processor's own
message is never shown)."""


def decline_message(code: str) -> str:
    return DECLINE_MESSAGES.get(code, DECLINE_MESSAGES["card_declined"])


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
        self, provider_ref: str, amount: int, currency: str, *, idempotency_key: str
    ) -> ChargeResult:
        """Charge the saved card ``provider_ref`` without the customer present."""
        ...

    async def refund(self, payment_ref: str, amount: int, currency: str, *, idempotency_key: str) -> str:
        """Send ``amount`` of the payment ``payment_ref`` back to its card; return the refund's reference."""
        ...
