"""Translations for the portal: gettext catalogs (``server/locales/<lang>/LC_MESSAGES/messages.po``)
loaded once, and a per-request locale in a context variable that the Jinja2 ``_``/``ngettext`` callables
read."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_percent
from babel.support import NullTranslations, Translations

from server.billing.money import format_money

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LOCALE = "en"
SUPPORTED = ("en", "de")
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})

_current: ContextVar[str] = ContextVar("selfserve_locale", default=DEFAULT_LOCALE)


def negotiate(*candidates: str | None) -> str:
    """The first candidate Babel understands (``de-AT`` → ``de_AT``), else English."""
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return str(Locale.parse(candidate.strip().replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            continue
    return DEFAULT_LOCALE


@cache
def translations_for(language: str) -> NullTranslations:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def current_locale() -> str:
    return _current.get()


@contextlib.contextmanager
def use_locale(locale: str) -> Iterator[str]:
    token = _current.set(locale)
    try:
        yield locale
    finally:
        _current.reset(token)


def _active() -> NullTranslations:
    return translations_for(current_locale().split("_")[0])


def gettext(message: str, **variables: object) -> str:
    text = _active().gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = _active().ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def text_direction(locale: str) -> str:
    return "rtl" if locale.split("_")[0] in RTL_LANGUAGES else "ltr"


def format_day(moment: date | None) -> str:
    """A day (or a moment's day) as the customer's locale writes it (medium length)."""
    if moment is None:
        return ""
    return _formatted_day(moment.date() if isinstance(moment, datetime) else moment, current_locale())


@lru_cache(maxsize=4096)
def _formatted_day(day: date, locale: str) -> str:
    """Babel's formatting is slow and a view shows the same days many times: remembered."""
    return str(format_date(day, format="medium", locale=locale))


def format_amount(amount: int, currency: str) -> str:
    """Minor units of ``currency`` as the customer's locale writes money."""
    return format_money(int(amount), currency, current_locale())


def format_rate(rate: str) -> str:
    """A tax rate's percentage (a decimal string, "8.875") as the customer's locale writes it ("8,875 %")."""
    value = Decimal(rate or "0") / 100
    return str(format_percent(value, locale=current_locale(), decimal_quantization=False))


def format_moment(moment: datetime | None) -> str:
    return "" if moment is None else str(format_datetime(moment, format="medium", locale=current_locale()))
