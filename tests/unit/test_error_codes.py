"""One error model: every domain error has a stable code, the API's problem ``type`` comes from it, and the
portal says the code's message in the customer's language (every shipped locale)."""

import importlib
import pkgutil

import pytest
from babel.messages.pofile import read_po

import server
from server.auth.sessions import SessionExpired
from server.errors import CODES, Conflict, Invalid, PaymentFailed
from server.i18n import LOCALES_DIR, SUPPORTED, gettext, use_locale
from server.portal.problems import MESSAGES, customer_message

EVERY_CODE = {
    "bad_request",
    "not_found",
    "conflict",
    "invalid",
    "unauthorized",
    "forbidden",
    "rate_limited",
    "payment_failed",
    "unavailable",
    "session_expired",
    "csrf",
    "token_refused",
    "link_refused",
    "sign_in_failed",
    "discount_refused",
    "unsafe_webhook_target",
    "read_only",
    "sign_in_needed",
    "role_refused",
}
"""Written out so that renaming a code (which API clients switch on) fails here."""


@pytest.fixture(scope="module")
def codes():
    """Every error class registers its code when its module is imported: import them all."""
    for module in pkgutil.walk_packages(server.__path__, "server."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)
    return set(CODES)


def test_every_code_is_listed_and_has_a_message(codes):
    assert codes == EVERY_CODE
    assert set(MESSAGES) == EVERY_CODE


@pytest.mark.parametrize("language", [lang for lang in SUPPORTED if lang != "en"])
def test_every_code_has_its_message_in_every_locale(codes, language):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    for code in codes:
        translated = catalog.get(MESSAGES[code])
        assert translated is not None, f"{language}: no message for {code!r}"
        assert translated.string, f"{language}: untranslated message for {code!r}"
        assert not translated.fuzzy, f"{language}: fuzzy message for {code!r}"


def test_the_problem_type_comes_from_the_code():
    assert Invalid("no").type == "https://selfserve.dev/problems/invalid"
    assert SessionExpired("gone").type == "https://selfserve.dev/problems/session-expired"


def test_the_portal_shows_the_message_for_the_code_not_the_developer_text():
    with use_locale("de"):
        assert customer_message(Conflict("row 1f3 changed")) == (
            "In der Zwischenzeit hat sich etwas geändert. Bitte laden Sie die Seite neu und versuchen Sie es "
            "noch einmal."
        )
        assert customer_message(SessionExpired("idle")) == (
            "Ihre Sitzung ist beendet. Bitte öffnen Sie das Portal erneut."
        )
        said = gettext("This is already your email address.")
        assert customer_message(Invalid(said)) == "Das ist bereits Ihre E-Mail-Adresse."
        assert customer_message(PaymentFailed("The card has expired.")) == "Die Karte ist abgelaufen."
