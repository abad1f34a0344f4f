import ast
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.errors import Invalid
from server.money import currency_exponent, format_money, normalize_currency, to_decimal

NBSP, NNBSP = "\xa0", "\u202f"


@pytest.mark.parametrize(
    ("currency", "exponent"), [("JPY", 0), ("USD", 2), ("EUR", 2), ("KWD", 3), ("BHD", 3), ("usd", 2)]
)
def test_currency_exponent(currency, exponent):
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["ZZZ", "", "US", "dollars"])
def test_unknown_currency_is_invalid(currency):
    with pytest.raises(Invalid, match="ISO 4217"):
        currency_exponent(currency)


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (123456, "USD", "en", "$1,234.56"),
        (-500, "USD", "en", "-$5.00"),
        (7, "USD", "en", "$0.07"),
        (123456, "EUR", "de", f"1.234,56{NBSP}€"),
        (123456, "EUR", "fr", f"1{NNBSP}234,56{NBSP}€"),
        (1234, "JPY", "en", "¥1,234"),
        (1234, "JPY", "ja", "￥1,234"),
        (1234567, "KWD", "en", "KWD1,234.567"),
        (5, "BHD", "en", "BHD0.005"),
        (1999, "USD", "pt-BR", f"US${NBSP}19,99"),
        (1999, "usd", "not-a-locale", "$19.99"),
    ],
)
def test_format_money_in_the_customers_locale(amount, currency, locale, expected):
    assert format_money(amount, currency, locale) == expected


@given(
    amount=st.integers(min_value=-(10**15), max_value=10**15), currency=st.sampled_from(["JPY", "USD", "KWD"])
)
def test_decimal_value_round_trips_exactly(amount, currency):
    value = to_decimal(amount, currency)
    assert value.scaleb(currency_exponent(currency)) == Decimal(amount)


@pytest.mark.parametrize("amount", [12.5, Decimal("12.5"), True, "12"])
def test_only_integer_minor_units_are_money(amount):
    with pytest.raises(TypeError, match="integer minor units"):
        to_decimal(amount, "USD")


def test_normalize_currency():
    assert normalize_currency(" eur ") == "EUR"


def test_no_float_in_the_money_code():
    """No float literal or float() call where amounts are computed (PDF layout is geometry, not money)."""
    server = Path(__file__).resolve().parents[3] / "server"
    modules = ["money.py", "billing/sandbox.py", "billing/providers.py"]
    modules += ["billing/orders.py", "billing/payments.py", "wallet/service.py"]
    for module in modules:
        for node in ast.walk(ast.parse((server / module).read_text())):
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), f"{module}: float"
            assert not (isinstance(node, ast.Name) and node.id == "float"), f"{module}: float"
