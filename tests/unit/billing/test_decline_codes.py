"""A processor's decline codes map to our own, whose words are ours."""

from server.billing.providers import DECLINE_MESSAGES, decline_code, decline_message, decline_reason
from server.i18n import use_locale


def test_processor_codes_become_ours():
    assert decline_code("insufficient_funds") == "insufficient_funds"
    assert decline_code("generic_decline") == "card_declined"
    assert decline_code("invalid_cvc") == "incorrect_cvc"
    assert decline_code("invalid_expiry_year") == "expired_card"
    assert decline_code("payment_intent_authentication_failure") == "authentication_failed"
    assert decline_code("card_velocity_exceeded") == "limit_exceeded"
    assert decline_code("some_new_code_stripe_adds") == "card_declined"
    assert decline_message("pickup_card") == DECLINE_MESSAGES["lost_card"]


def test_every_reason_is_said_in_each_language():
    for locale in ("de", "fr", "es", "pt_BR", "ja", "ar"):
        with use_locale(locale):
            said = {decline_reason(message) for message in DECLINE_MESSAGES.values()}
        assert not said & set(DECLINE_MESSAGES.values()), locale
        assert len(said) == len(DECLINE_MESSAGES), locale
