"""Every message the portal shows is translated into every shipped language, with the same placeholders."""

import re
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from server.i18n import LOCALES_DIR, SUPPORTED, gettext, ngettext, use_locale

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from messages import extract  # noqa: E402

PLACEHOLDER = re.compile(r"%\((\w+)\)")


def _placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def messages():
    return [m for m in extract() if m.id]


@pytest.mark.parametrize("language", [lang for lang in SUPPORTED if lang != "en"])
def test_catalog_translates_every_message_with_the_same_placeholders(messages, language):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    assert len(messages) > 200
    for message in messages:
        translated = catalog.get(message.id)
        assert translated is not None, f"{language}: not in the catalog: {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = translated.string if isinstance(translated.string, tuple) else (translated.string,)
        assert all(strings), f"{language}: untranslated: {message.id!r}"
        assert not translated.fuzzy, f"{language}: fuzzy: {message.id!r}"
        for string in strings:
            assert _placeholders(string) == _placeholders(ids[0]), (
                f"{language}: placeholders of {message.id!r}"
            )


def test_german_is_used_when_active_and_english_otherwise():
    with use_locale("de"):
        assert gettext("Subscriptions") == "Abonnements"
        assert gettext("Hello %(name)s!", name="Jo") == "Hallo Jo!"
        assert ngettext("%(num)d seat", "%(num)d seats", 3) == "3 Plätze"
        assert ngettext("%(num)d seat", "%(num)d seats", 1) == "1 Platz"
    with use_locale("de_AT"):
        assert gettext("Wallet") == "Guthaben"
    with use_locale("it"):
        assert gettext("Subscriptions") == "Subscriptions"


def test_each_language_uses_its_own_plural_rule():
    with use_locale("fr"):
        assert gettext("Subscriptions") == "Abonnements"
        assert ngettext("%(num)d seat", "%(num)d seats", 0) == "0 siège"  # French: 0 is singular
        assert ngettext("%(num)d seat", "%(num)d seats", 2) == "2 sièges"
    with use_locale("es"):
        assert ngettext("%(num)d seat", "%(num)d seats", 0) == "0 plazas"
    with use_locale("pt_PT"):
        assert gettext("Wallet") == "Carteira"
        assert ngettext("%(num)d seat", "%(num)d seats", 1) == "1 assento"
    with use_locale("ar"):  # six forms: zero, one, two, few (3-10), many (11-99), other (100-102)
        forms = [ngettext("%(num)d seat", "%(num)d seats", n) for n in (2, 3, 11, 100)]
        assert forms == ["2 مقعدان", "3 مقاعد", "11 مقعدًا", "100 مقعد"]
    with use_locale("ja"):
        assert ngettext("%(num)d seat", "%(num)d seats", 5) == "5 シート"
