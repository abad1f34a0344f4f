import pytest

from server.auth.api_keys import KEY_LENGTH, PREFIX, display_prefix, generate_api_key, is_well_formed


def test_generated_keys_are_well_formed_and_distinct():
    keys = {generate_api_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert key.startswith(PREFIX)
        assert len(key) == KEY_LENGTH
        assert is_well_formed(key)


def test_a_single_changed_character_fails_the_checksum():
    key = generate_api_key()
    position = len(PREFIX) + 5
    replacement = "A" if key[position] != "A" else "B"
    assert not is_well_formed(key[:position] + replacement + key[position + 1 :])


@pytest.mark.parametrize(
    "key",
    ["", "ss_sk_", "sk_live_abc", "ss_pk_" + "a" * 46, "ss_sk_" + "!" * 46, generate_api_key() + "x"],
)
def test_malformed_keys_are_refused(key):
    assert not is_well_formed(key)


def test_display_prefix_is_too_short_to_use():
    key = generate_api_key()
    shown = display_prefix(key)
    assert key.startswith(shown)
    assert len(shown) == len(PREFIX) + 4
