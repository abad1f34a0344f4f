"""The seam between billing and whoever moves the money. ``sandbox`` is the only built-in provider.

A provider turns card details into a saved, reusable reference (never keeping the number or CVC on our side),
charges that reference, and refunds. Charges carry an idempotency key so a job that crashed after charging and
runs again gets the first result back instead of charging twice.
"""

from __future__ import annotations

from typing import Protocol

import msgspec


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
    decline_code: str = ""
    message: str = ""


class PaymentProvider(Protocol):
    name: str

    def save_card(self, card: CardDetails) -> SavedCard:
        """Validate and store ``card``: ``Invalid`` for a malformed card, ``PaymentFailed`` if declined."""
        ...

    async def charge(
        self, provider_ref: str, amount: int, currency: str, *, idempotency_key: str
    ) -> ChargeResult: ...

    async def refund(self, provider_ref: str, amount: int, currency: str, *, idempotency_key: str) -> str:
        """Send ``amount`` back to the card; return the provider's refund reference."""
        ...


def get_provider(name: str) -> PaymentProvider:
    from server.billing.sandbox import SANDBOX

    providers: dict[str, PaymentProvider] = {SANDBOX.name: SANDBOX}
    try:
        return providers[name]
    except KeyError:
        raise LookupError(f"no payment provider named {name!r}") from None
