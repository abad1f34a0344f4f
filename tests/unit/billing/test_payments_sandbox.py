"""The sandbox provider on its own: test numbers, Luhn, expiry, CVC, declines and idempotent charges."""

from datetime import UTC, datetime

import pytest

from server import clock
from server.billing.providers import CardDetails
from server.billing.sandbox import TEST_CARDS, SandboxProvider, luhn_valid
from server.errors import Invalid, PaymentFailed


def card(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123"):
    return CardDetails(number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc)


@pytest.fixture
def sandbox():
    with clock.use_clock(clock.FrozenClock(datetime(2026, 6, 15, tzinfo=UTC))):
        yield SandboxProvider()


def test_every_documented_test_number_passes_luhn():
    assert all(luhn_valid(number) for number in TEST_CARDS)
    assert not luhn_valid("4242424242424241")
    assert not luhn_valid("42a2")


@pytest.mark.parametrize(
    ("number", "brand", "cvc"),
    [
        ("4242 4242 4242 4242", "visa", "123"),
        ("5555-5555-5555-4444", "mastercard", "123"),
        ("378282246310005", "amex", "1234"),
        ("6011111111111117", "discover", "123"),
        ("3566002020360505", "jcb", "123"),
    ],
)
def test_accepted_cards_keep_only_what_may_be_stored(sandbox, number, brand, cvc):
    saved = sandbox.save_card(card(number, cvc=cvc))
    digits = number.replace(" ", "").replace("-", "")
    assert (saved.brand, saved.last4, saved.exp_month, saved.exp_year) == (brand, digits[-4:], 12, 2030)
    assert digits not in saved.provider_ref
    assert digits not in repr(card(number))


@pytest.mark.parametrize(
    ("number", "code"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")],
)
def test_declined_cards(sandbox, number, code):
    with pytest.raises(PaymentFailed) as declined:
        sandbox.save_card(card(number))
    assert declined.value.extra == {"decline_code": code}
    assert declined.value.status == 402


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"number": "4242424242424241"}, "not valid"),
        ({"number": "4242"}, "12 to 19 digits"),
        ({"number": "4242abcd42424242"}, "12 to 19 digits"),
        ({"number": "4111111111111111"}, "test card numbers only"),
        ({"exp_month": 13}, "month"),
        ({"exp_month": 5, "exp_year": 2026}, "expired"),
        ({"exp_year": 1999}, "year"),
        ({"cvc": "12"}, "3 digits"),
        ({"number": "378282246310005", "cvc": "123"}, "4 digits"),
    ],
)
def test_malformed_cards_are_invalid(sandbox, changes, message):
    with pytest.raises(Invalid, match=message):
        sandbox.save_card(card(**changes))


def test_two_digit_years_and_this_month_are_fine(sandbox):
    assert sandbox.save_card(card(exp_month=6, exp_year=26)).exp_year == 2026


async def test_card_that_fails_only_when_charged(sandbox):
    saved = sandbox.save_card(card("4000000000000341"))
    result = await sandbox.charge(saved.provider_ref, 1000, "USD", idempotency_key="a")
    assert (result.succeeded, result.decline_code) == (False, "card_declined")
    assert list(sandbox.charges) == []


async def test_charges_are_idempotent_by_key(sandbox):
    saved = sandbox.save_card(card())
    first = await sandbox.charge(saved.provider_ref, 1000, "USD", idempotency_key="order-1:1")
    again = await sandbox.charge(saved.provider_ref, 1000, "USD", idempotency_key="order-1:1")
    other = await sandbox.charge(saved.provider_ref, 1000, "USD", idempotency_key="order-1:2")
    assert first == again
    assert first.succeeded
    assert other.reference != first.reference
    assert list(sandbox.charges) == [(saved.provider_ref, 1000, "USD")] * 2


async def test_a_card_that_expired_since_it_was_saved_is_declined(sandbox):
    saved = sandbox.save_card(card(exp_month=7, exp_year=2026))
    with clock.use_clock(clock.FrozenClock(datetime(2026, 8, 1, tzinfo=UTC))):
        result = await sandbox.charge(saved.provider_ref, 1000, "USD", idempotency_key="k")
    assert (result.succeeded, result.decline_code) == (False, "expired_card")
