"""The merchant's card processor in the API (``/v1/payment-provider``): secrets go in and never come out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.schemas.common import END

SecretKey = Annotated[
    str,
    Meta(
        pattern=rf"^(sk|rk)_(test|live)_[0-9A-Za-z_]{{4,250}}{END}",
        description="Stripe secret (or restricted) key",
    ),
]
PublishableKey = Annotated[
    str, Meta(pattern=rf"^pk_(test|live)_[0-9A-Za-z_]{{4,250}}{END}", description="Stripe publishable key")
]
WebhookSecret = Annotated[
    str,
    Meta(
        pattern=rf"^whsec_[0-9A-Za-z_]{{4,250}}{END}",
        description="signing secret of your Stripe webhook endpoint",
    ),
]


class PaymentProviderPut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    provider: Literal["sandbox", "stripe"]
    """``sandbox`` (test cards, no money moves) or ``stripe``."""
    secret_key: SecretKey | None = None
    """``stripe``: the account's secret key. Required the first time, left out to keep the stored one."""
    publishable_key: PublishableKey | None = None
    """``stripe``: the publishable key Stripe.js uses in your customers' browsers."""
    webhook_secret: WebhookSecret | None = None
    """``stripe``: the signing secret of the endpoint you register in Stripe (``webhook_url``). Required the
    first time, left out to keep the stored one."""


class PaymentProviderOut(msgspec.Struct, kw_only=True, frozen=True):
    provider: Literal["sandbox", "stripe"]
    publishable_key: str | None
    secret_key_last4: str | None
    """The last four characters of the stored secret key, to tell keys apart."""
    webhook_url: str | None
    """``stripe``: register this URL as a webhook endpoint in Stripe."""
    updated_at: datetime | None


PAYMENT_PROVIDER_EXAMPLE = {
    "provider": "stripe",
    "secret_key": "sk_test_51AbCdEfGhIjKlMnOp",
    "publishable_key": "pk_test_51AbCdEfGhIjKlMnOp",
    "webhook_secret": "whsec_AbCdEfGhIjKlMnOpQrSt",
}
