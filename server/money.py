"""Money is an integer amount of minor units beside an ISO 4217 currency; never a float.

The number of minor units per major unit comes from CLDR (through Babel): 0 for JPY, 2 for USD and EUR,
3 for KWD and BHD. Formatting converts to ``Decimal`` only to hand Babel an exact value.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    list_currencies,
    parse_decimal,
)

from server.errors import Invalid

FALLBACK_LOCALE = "en"
CURRENCIES = frozenset(list_currencies())
"""Every ISO 4217 code Babel knows (read once: a portal view formats dozens of amounts)."""


def normalize_currency(currency: str) -> str:
    """The upper-case ISO code, or Invalid when Babel does not know it."""
    code = currency.strip().upper()
    if code not in CURRENCIES:
        raise Invalid(f"{currency!r} is not an ISO 4217 currency code")
    return code


def currency_exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (JPY 0, USD 2, KWD 3)."""
    return int(get_currency_precision(normalize_currency(currency)))


def to_decimal(amount: int, currency: str) -> Decimal:
    """The exact major-unit value of ``amount`` minor units (1999 USD → Decimal('19.99'))."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"money amounts are integer minor units, not {type(amount).__name__}")
    return Decimal(amount).scaleb(-currency_exponent(currency))


@lru_cache(maxsize=256)
def _locale(locale: str | None) -> Locale:
    try:
        return Locale.parse((locale or FALLBACK_LOCALE).replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(FALLBACK_LOCALE)


def format_money(amount: int, currency: str, locale: str | None = FALLBACK_LOCALE) -> str:
    """``amount`` minor units shown the way ``locale`` writes ``currency`` (unknown locales fall back to
    English), with exactly the currency's number of decimals."""
    return _formatted(to_decimal(amount, currency), normalize_currency(currency), locale)


@lru_cache(maxsize=4096)
def _formatted(value: Decimal, code: str, locale: str | None) -> str:
    """Babel's formatting is slow and a view shows the same few prices many times: remembered."""
    return str(format_currency(value, code, locale=_locale(locale), currency_digits=True))


def parse_amount(text: str, currency: str, locale: str | None = FALLBACK_LOCALE) -> int:
    """The minor units of an amount a person typed in major units the way ``locale`` writes numbers
    ("12.50" in English, "12,50" in German); Invalid when it is not a positive amount of ``currency``
    with at most its number of decimals."""
    try:
        value = parse_decimal(text.strip(), locale=_locale(locale), strict=True)
        minor = value.scaleb(currency_exponent(currency))
    except (NumberFormatError, InvalidOperation) as exc:
        raise Invalid(f"{text!r} is not an amount") from exc
    if minor != minor.to_integral_value() or minor <= 0 or minor > 10**12:
        raise Invalid(f"{text!r} is not an amount of {currency}")
    return int(minor)
