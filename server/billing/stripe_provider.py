"""The ``stripe`` payment provider, on the official ``stripe`` package's async client.

Cards are saved with a SetupIntent (``usage=off_session``) that the customer's browser confirms in Stripe.js,
so the card number goes to Stripe only; we keep the PaymentMethod's reference (``cus_…:pm_…``), brand, last
four digits and expiry. Charges are off-session PaymentIntents confirmed at once, each with the caller's
idempotency key; refunds are Stripe Refunds of the order's PaymentIntent. A decline is reported by its code
with our own words (``decline_message``), never Stripe's message.

The ``stripe`` package takes seconds to import, so it is imported where a merchant on Stripe first needs it,
not when the server or the CLI starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from server.billing.providers import ChargeResult, SavedCard, decline_code, decline_message
from server.errors import Conflict, Invalid, PaymentFailed, Unavailable

if TYPE_CHECKING:
    import stripe

TIMEOUT_SECONDS = 20
NETWORK_RETRIES = 2
ORDER_METADATA = "selfserve_order"
"""The PaymentIntent's metadata key naming our order, so Stripe's events about it find the order even before
the charge's own answer is recorded."""
REFUNDED_STATUSES = frozenset({"succeeded", "pending"})
"""A Stripe refund in these has left (or is leaving) the merchant's balance; ``failed`` and ``canceled`` have
not."""


def split_ref(provider_ref: str) -> tuple[str, str]:
    """(Stripe customer, PaymentMethod) of a saved card's reference."""
    customer, _, method = provider_ref.partition(":")
    return customer, method


def _decline_code(error: stripe.StripeError) -> str:
    details = error.error
    return decline_code((details.decline_code if details else None) or error.code or "card_declined")


class StripeProvider:
    name = "stripe"

    def __init__(self, secret_key: str, *, api_base: str) -> None:
        self._secret_key = secret_key
        self._api_base = api_base

    def __repr__(self) -> str:  # the secret key stays out of logs and tracebacks
        return "StripeProvider(<secret key>)"

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[stripe.StripeClient]:
        import stripe

        http = stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        try:
            yield stripe.StripeClient(
                self._secret_key,
                base_addresses={"api": self._api_base},
                http_client=http,
                max_network_retries=NETWORK_RETRIES,
            )
        finally:
            await http.close_async()  # type: ignore[no-untyped-call]

    # --- cards -------------------------------------------------------------------------------------------

    async def create_customer(self, *, email: str, name: str, customer_id: str) -> str:
        """A Stripe customer for one of ours; its id."""
        import stripe

        async with self._client() as client:
            try:
                created = await client.v1.customers.create_async(
                    params={"email": email, "name": name, "metadata": {"selfserve_customer": customer_id}},
                    options={"idempotency_key": f"customer:{customer_id}"},
                )
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
        return str(created.id)

    async def start_card_setup(self, customer_ref: str) -> str:
        """A SetupIntent for an off-session card of ``customer_ref``; its client secret, for Stripe.js."""
        import stripe

        async with self._client() as client:
            try:
                intent = await client.v1.setup_intents.create_async(
                    params={"customer": customer_ref, "usage": "off_session"}
                )
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
        return str(intent.client_secret)

    async def finish_card_setup(self, customer_ref: str, setup_intent_id: str) -> SavedCard:
        """The card of a SetupIntent the customer confirmed: ``Invalid`` unless it is ``customer_ref``'s and
        succeeded. The card is attached to the customer if Stripe has not done it yet."""
        import stripe

        async with self._client() as client:
            try:
                intent = await client.v1.setup_intents.retrieve_async(setup_intent_id)
            except stripe.InvalidRequestError as exc:
                raise Invalid("no such card setup") from exc
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
            if intent.customer != customer_ref or intent.status != "succeeded" or not intent.payment_method:
                raise Invalid("the card was not confirmed")
            method_id = str(intent.payment_method)
            try:
                method = await client.v1.payment_methods.retrieve_async(method_id)
                if method.customer != customer_ref:
                    method = await client.v1.payment_methods.attach_async(
                        method_id, params={"customer": customer_ref}
                    )
            except stripe.CardError as exc:
                code = _decline_code(exc)
                raise PaymentFailed(decline_message(code), decline_code=code) from exc
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
        card: Any = method.card
        return SavedCard(
            provider_ref=f"{customer_ref}:{method_id}",
            brand=str(card.brand),
            last4=str(card.last4),
            exp_month=int(card.exp_month),
            exp_year=int(card.exp_year),
        )

    async def make_default(self, provider_ref: str) -> None:
        """The card becomes the Stripe customer's default payment method too."""
        import stripe

        customer, method = split_ref(provider_ref)
        async with self._client() as client:
            with contextlib.suppress(stripe.StripeError):  # ours is the default that counts
                await client.v1.customers.update_async(
                    customer, params={"invoice_settings": {"default_payment_method": method}}
                )

    async def default_payment_method(self, customer_ref: str) -> str:
        """The Stripe customer's default PaymentMethod now (empty when none)."""
        import stripe

        async with self._client() as client:
            try:
                customer = await client.v1.customers.retrieve_async(customer_ref)
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
        settings = customer.invoice_settings
        method = settings.default_payment_method if settings else None
        return str(getattr(method, "id", method) or "")

    async def detach(self, provider_ref: str) -> None:
        """Remove the card from the Stripe customer (a card already gone there is fine)."""
        import stripe

        _, method = split_ref(provider_ref)
        async with self._client() as client:
            try:
                await client.v1.payment_methods.detach_async(method)
            except stripe.InvalidRequestError:
                pass
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc

    # --- money -------------------------------------------------------------------------------------------

    async def charge(
        self, provider_ref: str, amount: int, currency: str, *, idempotency_key: str, order_id: str = ""
    ) -> ChargeResult:
        import stripe

        customer, method = split_ref(provider_ref)
        async with self._client() as client:
            try:
                intent = await client.v1.payment_intents.create_async(
                    params={
                        "amount": amount,
                        "currency": currency.lower(),
                        "customer": customer,
                        "payment_method": method,
                        "confirm": True,
                        "off_session": True,
                        "metadata": {ORDER_METADATA: order_id},
                    },
                    options={"idempotency_key": idempotency_key},
                )
            except stripe.CardError as exc:
                code = _decline_code(exc)
                failed = exc.error.payment_intent if exc.error else None
                return ChargeResult(
                    succeeded=False,
                    reference=str(failed.id) if failed else "",
                    decline_code=code,
                    message=decline_message(code),
                    needs_confirmation=code == "authentication_required",
                )
            except stripe.StripeError:
                code = "processing_error"
                return ChargeResult(succeeded=False, decline_code=code, message=decline_message(code))
        return _result(intent.id, intent.status)

    async def payment_status(self, payment_ref: str) -> tuple[ChargeResult, str]:
        """Where a PaymentIntent stands now, and the PaymentMethod it charges (to reconcile)."""
        import stripe

        async with self._client() as client:
            try:
                intent = await client.v1.payment_intents.retrieve_async(payment_ref)
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
        method = intent.payment_method
        error = intent.last_payment_error
        details = error.to_dict() if error else {}
        failure = str(details.get("decline_code") or details.get("code") or "")
        return _result(intent.id, intent.status, failure), str(getattr(method, "id", method) or "")

    async def confirmation_secret(self, payment_ref: str) -> str:
        """The client secret Stripe.js needs to let the customer authenticate a PaymentIntent (3-D Secure);
        empty when the PaymentIntent no longer waits for that."""
        import stripe

        async with self._client() as client:
            try:
                intent = await client.v1.payment_intents.retrieve_async(payment_ref)
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
        return str(intent.client_secret or "") if intent.status == "requires_action" else ""

    async def refund(self, payment_ref: str, amount: int, currency: str, *, idempotency_key: str) -> str:
        import stripe

        if not payment_ref:
            raise Conflict("this order's Stripe payment is not known: refund to the wallet instead")
        async with self._client() as client:
            try:
                refund = await client.v1.refunds.create_async(
                    params={"payment_intent": payment_ref, "amount": amount},
                    options={"idempotency_key": f"refund:{idempotency_key}"},
                )
            except stripe.InvalidRequestError as exc:
                raise Conflict(
                    "Stripe refused the refund: check the payment in your Stripe dashboard"
                ) from exc
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
        return str(refund.id)

    async def refunds_of(self, payment_ref: str) -> list[tuple[str, int]]:
        """(Stripe refund id, amount) of every refund of a PaymentIntent that gave money back, oldest
        first, whoever made it (selfserve or the merchant's Stripe dashboard)."""
        import stripe

        async with self._client() as client:
            try:
                page = await client.v1.refunds.list_async(
                    params={"payment_intent": payment_ref, "limit": 100}
                )
                refunds = [refund async for refund in page.auto_paging_iter()]
            except stripe.StripeError as exc:
                raise Unavailable("Stripe could not be reached; try again in a moment") from exc
        return [
            (str(refund.id), int(refund.amount))
            for refund in sorted(reversed(refunds), key=lambda refund: refund.created)  # listed newest first
            if refund.status in REFUNDED_STATUSES
        ]


def _result(intent_id: str, status: str, failure: str = "") -> ChargeResult:
    """Our result for a PaymentIntent's status; ``failure`` is its last error's code (a failed 3-D Secure
    challenge leaves it waiting for another card)."""
    if status == "succeeded":
        return ChargeResult(succeeded=True, reference=intent_id)
    if status in {"requires_action", "requires_confirmation"}:
        code = "authentication_required"
        return ChargeResult(
            succeeded=False,
            reference=intent_id,
            decline_code=code,
            message=decline_message(code),
            needs_confirmation=True,
        )
    code = "processing_error" if status == "processing" else decline_code(failure or "card_declined")
    return ChargeResult(
        succeeded=False, reference=intent_id, decline_code=code, message=decline_message(code)
    )
