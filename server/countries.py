"""Countries of a billing address: ISO 3166-1 alpha-2 codes, named in the customer's language from Babel's
CLDR territory data (no list of our own to keep up to date)."""

from __future__ import annotations

import unicodedata
from functools import cache

from babel import Locale
from babel.core import get_global

_NOT_ISO = frozenset({"AC", "CP", "CQ", "DG", "EA", "IC", "TA", "XK", "ZZ"})
"""CLDR regions with a two-letter code that ISO 3166-1 does not assign to a country (exceptionally reserved,
user-assigned or unknown)."""

CODES: frozenset[str] = frozenset(
    code
    for code in get_global("territory_languages")
    if len(code) == 2 and code.isalpha() and code in Locale("en").territories and code not in _NOT_ISO
)
"""The 249 ISO 3166-1 alpha-2 codes: the regions CLDR names that have a population (languages spoken)."""


def _sort_key(name: str) -> str:
    """Accents sort with their base letter (Österreich among the O), case ignored."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def country_choices(locale: str) -> tuple[tuple[str, str], ...]:
    """(code, name) of every country, named in ``locale`` and sorted by that name."""
    names = Locale.parse(locale).territories
    english = Locale("en").territories
    pairs = [(code, names.get(code) or english[code]) for code in CODES]
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))
