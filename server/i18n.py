"""Translations for the portal: gettext catalogs (``server/locales/<locale>/LC_MESSAGES/messages.po``)
loaded once, and a per-request locale in a context variable that the Jinja2 ``_``/``ngettext`` callables
and the money, number and date formatters read.

A negotiated locale is always one the portal speaks completely: a shipped catalog's locale, or a regional
variant of a shipped language (``de_AT`` speaks ``de`` and writes money and dates the Austrian way). A
request for a region of a language shipped only for another region takes that region (``pt-PT`` →
``pt_BR``); a language not shipped at all gives way to the next candidate, and English comes last."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_interval
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from server.money import format_money

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LOCALE = "en"
SUPPORTED = ("en", "de", "fr", "es", "pt_BR", "ja", "ar")
"""The catalogs shipped, as Babel names locales (``pt_BR``); ``en`` is the messages themselves."""

_current: ContextVar[str] = ContextVar("selfserve_locale", default=DEFAULT_LOCALE)
_overrides: ContextVar[Mapping[str, str]] = ContextVar("selfserve_overrides", default=MappingProxyType({}))
PLACEHOLDER = re.compile(r"%\((\w+)\)")


def negotiate(*candidates: str | None) -> str:
    """The first candidate the portal speaks (see the module docstring), else English. Each candidate is a
    locale name as people write them (``pt-BR``, ``de_AT``, ``fr``); empty ones are skipped."""
    for candidate in candidates:
        spoken = _spoken(candidate.strip().replace("-", "_")) if candidate else None
        if spoken is not None:
            return spoken
    return DEFAULT_LOCALE


@lru_cache(maxsize=512)
def _spoken(name: str) -> str | None:
    try:
        parsed = Locale.parse(name)
        locale = Locale(parsed.language, parsed.territory, parsed.script)  # no variant or @modifier
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if str(locale) in SUPPORTED or locale.language in SUPPORTED:
        return str(locale)
    same_language = [shipped for shipped in SUPPORTED if shipped.split("_")[0] == locale.language]
    return same_language[0] if same_language else None


def speaks(name: str) -> bool:
    """Whether a locale name (``pt-BR``, ``de_AT``) is one the portal speaks, exactly or by language."""
    return _spoken(name.strip().replace("-", "_")) is not None


def language_choices() -> list[tuple[str, str]]:
    """(code, name in its own language) of every locale the portal speaks: ``("pt-BR", "português")``."""
    return [(html_lang(code), Locale.parse(code).get_display_name(code) or code) for code in SUPPORTED]


def accept_language(header: str | None) -> list[str]:
    """The locales of an ``Accept-Language`` header, most wanted first (``*`` and q=0 left out)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if name and name != "*" and quality > 0:
            weighted.append((-quality, position, name.strip()))
    return [name for _, _, name in sorted(weighted)]


def catalog_name(locale: str) -> str:
    """The shipped catalog that speaks ``locale`` (a negotiated locale): its own, else its language's."""
    if locale in SUPPORTED:
        return locale
    language = locale.split("_")[0]
    return (
        language
        if language in SUPPORTED
        else next((shipped for shipped in SUPPORTED if shipped.split("_")[0] == language), DEFAULT_LOCALE)
    )


@cache
def translations_for(language: str) -> NullTranslations:
    """The compiled catalog of a shipped locale (``pt_BR``, ``de``); English has none."""
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
def use_locale(locale: str, overrides: Mapping[str, Mapping[str, str]] | None = None) -> Iterator[str]:
    """Speak ``locale`` inside the block; ``overrides`` are a merchant's own wordings (locale as people
    write it, ``pt-BR`` or ``de`` → message → text), of which the locale's or its language's apply."""
    chosen = (overrides or {}).get(html_lang(locale)) or (overrides or {}).get(locale.split("_")[0]) or {}
    token, replaced = _current.set(locale), _overrides.set(chosen)
    try:
        yield locale
    finally:
        _overrides.reset(replaced)
        _current.reset(token)


def placeholders(text: str) -> list[str]:
    """The ``%(name)s`` placeholders of a message, sorted: a wording must keep those of its message."""
    return sorted(PLACEHOLDER.findall(text))


def _active() -> NullTranslations:
    return translations_for(catalog_name(current_locale()))


class Said(str):
    """Text that went through the catalog: written for people and in their language, so an error raised
    with it may be shown as it is (see ``server.portal.problems``)."""

    __slots__ = ()


def gettext(message: str, **variables: object) -> str:
    text = _overrides.get().get(message) or _active().gettext(message)
    return Said(text % variables if variables else text)


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = _active().ngettext(singular, plural, n)
    return Said(text % {"num": n, **variables})


def text_direction(locale: str) -> str:
    """``rtl`` for a locale written right to left (Arabic), else ``ltr``: the ``dir`` of its pages."""
    try:
        order = Locale.parse(locale).character_order
    except (ValueError, TypeError, UnknownLocaleError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def html_lang(locale: str) -> str:
    """``pt_BR`` as HTML's ``lang`` writes it (``pt-BR``)."""
    return locale.replace("_", "-")


def format_day(moment: date | None) -> str:
    """A day (or a moment's day) as the customer's locale writes it (medium length)."""
    if moment is None:
        return ""
    return _formatted_day(moment.date() if isinstance(moment, datetime) else moment, current_locale())


@lru_cache(maxsize=4096)
def _formatted_day(day: date, locale: str) -> str:
    """Babel's formatting is slow and a view shows the same days many times: remembered."""
    return str(format_date(day, format="medium", locale=locale))


def format_period(start: date | None, end: date | None) -> str:
    """A date range as one phrase of the locale (Babel's interval formats: German writes ``5.-9. Jan.
    2026``), so it reads in the right order right to left too; an open end shows the start alone."""
    if start is None:
        return format_day(end)
    if end is None:
        return format_day(start)
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    return _formatted_period(first, last, current_locale())


@lru_cache(maxsize=4096)
def _formatted_period(start: date, end: date, locale: str) -> str:
    return str(format_interval(start, end, "yMMMd", locale=locale))


def format_number(value: float | int) -> str:
    return str(format_decimal(value, locale=current_locale()))


def format_amount(amount: int, currency: str) -> str:
    """Minor units of ``currency`` as the customer's locale writes money."""
    return format_money(int(amount), currency, current_locale())


def format_rate(rate: str) -> str:
    """A tax rate's percentage (a decimal string, "8.875") as the customer's locale writes it ("8,875 %")."""
    value = Decimal(rate or "0") / 100
    return str(format_percent(value, locale=current_locale(), decimal_quantization=False))


def format_moment(moment: datetime | None) -> str:
    return "" if moment is None else str(format_datetime(moment, format="medium", locale=current_locale()))
