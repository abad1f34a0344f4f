"""The built-in ``sandbox`` payment provider: no money moves, behaviour is chosen by well-known test numbers.

The numbers are the ones every payment sandbox documents (4242 4242 4242 4242 and friends). Some are declined
when saved, and ``4000 0000 0000 0341`` saves fine but every charge to it fails, which is how dunning is
exercised. The saved reference carries what the sandbox needs later (expiry and charge outcome), so nothing
about a card lives in memory and a restart changes nothing.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass

from server import clock
from server.billing.providers import DECLINE_MESSAGES, CardDetails, ChargeResult, SavedCard
from server.errors import Invalid, PaymentFailed


@dataclass(frozen=True)
class TestCard:
    brand: str
    declined_on_save: str = ""
    declined_on_charge: str = ""


TEST_CARDS: dict[str, TestCard] = {
    "4242424242424242": TestCard("visa"),
    "4000056655665556": TestCard("visa"),
    "5555555555554444": TestCard("mastercard"),
    "2223003122003222": TestCard("mastercard"),
    "5200828282828210": TestCard("mastercard"),
    "378282246310005": TestCard("amex"),
    "371449635398431": TestCard("amex"),
    "6011111111111117": TestCard("discover"),
    "3056930009020004": TestCard("diners"),
    "36227206271667": TestCard("diners"),
    "3566002020360505": TestCard("jcb"),
    "6200000000000005": TestCard("unionpay"),
    "4000000000000002": TestCard("visa", declined_on_save="card_declined"),
    "4000000000009995": TestCard("visa", declined_on_save="insufficient_funds"),
    "4000000000009987": TestCard("visa", declined_on_save="lost_card"),
    "4000000000009979": TestCard("visa", declined_on_save="stolen_card"),
    "4000000000000069": TestCard("visa", declined_on_save="expired_card"),
    "4000000000000127": TestCard("visa", declined_on_save="incorrect_cvc"),
    "4000000000000341": TestCard("visa", declined_on_charge="card_declined"),
}

CHARGE_OK = "ok"
REMEMBERED_RESULTS = 10_000


def normalize_number(number: str) -> str:
    """Digits only: people type spaces and dashes."""
    return "".join(ch for ch in number if ch not in " -")


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _full_year(exp_year: int) -> int:
    return exp_year + 2000 if 0 <= exp_year < 100 else exp_year


def _expired(exp_month: int, exp_year: int) -> bool:
    today = clock.now()
    return (exp_year, exp_month) < (today.year, today.month)


def validate_card(card: CardDetails) -> tuple[str, TestCard, int]:
    """The digits, the sandbox's card and the four-digit year, or Invalid saying what is wrong."""
    digits = normalize_number(card.number)
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise Invalid("the card number must be 12 to 19 digits")
    if not luhn_valid(digits):
        raise Invalid("the card number is not valid (check the digits)")
    if not 1 <= card.exp_month <= 12:
        raise Invalid("the expiry month must be 1 to 12")
    exp_year = _full_year(card.exp_year)
    if not 2000 <= exp_year <= 2100:
        raise Invalid("the expiry year is not valid")
    if _expired(card.exp_month, exp_year):
        raise Invalid("the card has expired")
    test_card = TEST_CARDS.get(digits)
    if test_card is None:
        raise Invalid("the sandbox accepts test card numbers only, such as 4242 4242 4242 4242")
    cvc_length = 4 if test_card.brand == "amex" else 3
    if not (card.cvc.isdigit() and len(card.cvc) == cvc_length):
        raise Invalid(f"the security code must be {cvc_length} digits")
    return digits, test_card, exp_year


class SandboxProvider:
    name = "sandbox"

    def __init__(self) -> None:
        self._results: OrderedDict[str, ChargeResult] = OrderedDict()
        self.charges: deque[tuple[str, int, str]] = deque(maxlen=REMEMBERED_RESULTS)
        """(provider_ref, amount, currency) of the latest successful charges, for tests and the demo."""

    def save_card(self, card: CardDetails) -> SavedCard:
        digits, test_card, exp_year = validate_card(card)
        if test_card.declined_on_save:
            code = test_card.declined_on_save
            raise PaymentFailed(DECLINE_MESSAGES[code], decline_code=code)
        outcome = test_card.declined_on_charge or CHARGE_OK
        return SavedCard(
            provider_ref=f"sbx_{secrets.token_hex(8)}.{exp_year:04d}{card.exp_month:02d}.{outcome}",
            brand=test_card.brand,
            last4=digits[-4:],
            exp_month=card.exp_month,
            exp_year=exp_year,
        )

    async def charge(
        self, provider_ref: str, amount: int, currency: str, *, idempotency_key: str, order_id: str = ""
    ) -> ChargeResult:
        if idempotency_key in self._results:
            return self._results[idempotency_key]
        result = self._decide(provider_ref)
        if result.succeeded:
            self.charges.append((provider_ref, amount, currency))
        self._results[idempotency_key] = result
        if len(self._results) > REMEMBERED_RESULTS:
            self._results.popitem(last=False)
        return result

    def _decide(self, provider_ref: str) -> ChargeResult:
        try:
            _, expiry, outcome = provider_ref.split(".")
            exp_year, exp_month = int(expiry[:4]), int(expiry[4:])
        except ValueError:
            return ChargeResult(
                succeeded=False, decline_code="card_declined", message=DECLINE_MESSAGES["card_declined"]
            )
        if _expired(exp_month, exp_year):
            return ChargeResult(
                succeeded=False, decline_code="expired_card", message=DECLINE_MESSAGES["expired_card"]
            )
        if outcome != CHARGE_OK:
            return ChargeResult(succeeded=False, decline_code=outcome, message=DECLINE_MESSAGES[outcome])
        return ChargeResult(succeeded=True, reference=f"sbx_ch_{secrets.token_hex(8)}")

    async def refund(self, payment_ref: str, amount: int, currency: str, *, idempotency_key: str) -> str:
        return f"sbx_re_{idempotency_key}"


SANDBOX = SandboxProvider()
