# ruff: noqa: RUF001 (the dashes and spaces are what each locale writes)
"""Which locale the portal speaks: the first candidate it speaks completely, by exact locale or by language,
and money, numbers, dates and date ranges written the way that locale writes them."""

from datetime import date

import pytest

from server import i18n
from server.i18n import accept_language, catalog_name, negotiate, speaks, text_direction, use_locale


def test_the_first_candidate_spoken_wins_and_english_comes_last():
    assert negotiate("de", "en") == "de"
    assert negotiate(None, "", "de") == "de"
    assert negotiate("it", "de") == "de"  # Italian is not shipped: the next candidate decides
    assert negotiate("tlh", "xx-YY", "not a locale", "  ") == "en"
    assert negotiate() == "en"


def test_a_region_of_a_shipped_language_keeps_its_region_for_formats():
    assert negotiate("de-AT") == "de_AT"
    assert catalog_name("de_AT") == "de"
    assert negotiate("en_GB") == "en_GB"
    assert catalog_name("en_GB") == "en"


def test_a_language_shipped_for_another_region_falls_back_to_that_region():
    assert negotiate("pt-PT") == "pt_BR"
    assert negotiate("pt") == "pt_BR"
    assert negotiate("pt-BR") == "pt_BR"
    assert catalog_name("pt_BR") == "pt_BR"
    assert speaks("pt-PT")
    assert not speaks("it")


def test_accept_language_is_read_in_order_of_preference():
    assert accept_language("fr-CH, fr;q=0.9, de;q=0.8, *;q=0.5") == ["fr-CH", "fr", "de"]
    assert accept_language("en;q=0.2, de") == ["de", "en"]
    assert accept_language("de;q=0, en") == ["en"]
    assert accept_language("da;q=oops, en") == ["en"]
    assert accept_language(None) == []
    assert negotiate(*accept_language("it-IT, it;q=0.9, de;q=0.5")) == "de"


@pytest.mark.parametrize(
    ("locale", "direction"), [("ar", "rtl"), ("ar_EG", "rtl"), ("he", "rtl"), ("de", "ltr"), ("ja", "ltr")]
)
def test_direction_follows_the_script(locale, direction):
    assert text_direction(locale) == direction


@pytest.mark.parametrize(
    ("locale", "money", "day", "period", "number"),
    [
        ("en", "€1,234.50", "Jan 5, 2026", "Jan 5\u2009–\u20099, 2026", "1,234.5"),
        ("de", "1.234,50\xa0€", "05.01.2026", "5.–9. Jan. 2026", "1.234,5"),
        ("de_AT", "€\xa01.234,50", "05.01.2026", "5.–9. Jän. 2026", "1.234,5"),
        ("fr", "1\u202f234,50\xa0€", "5 janv. 2026", "5–9 janv. 2026", "1\u202f234,5"),
        ("es", "1.234,50\xa0€", "5 ene 2026", "5–9 ene 2026", "1.234,5"),
        ("pt_BR", "€\xa01.234,50", "5 de jan. de 2026", "5\u2009–\u20099 de jan. de 2026", "1.234,5"),
        ("ja", "€1,234.50", "2026/01/05", "2026年1月5日～9日", "1,234.5"),
        ("ar", "\u200f1,234.50\xa0€", "05\u200f/01\u200f/2026", "5–9 يناير 2026", "1,234.5"),
    ],
)
def test_formats_follow_the_active_locale(locale, money, day, period, number):
    with use_locale(locale):
        assert i18n.format_amount(123450, "EUR") == money
        assert i18n.format_day(date(2026, 1, 5)) == day
        assert i18n.format_period(date(2026, 1, 5), date(2026, 1, 9)) == period
        assert i18n.format_number(1234.5) == number
    assert i18n.format_period(date(2026, 1, 5), None) == "Jan 5, 2026"
