import pytest
from cryptography.fernet import InvalidToken

from server.security.secrets import KeyedHasher, SecretBox

OLD, NEW = "o" * 40, "n" * 40


def test_round_trip_and_ciphertext_hides_plaintext():
    box = SecretBox([OLD])
    token = box.encrypt("whsec_abc")
    assert "whsec_abc" not in token
    assert box.decrypt(token) == "whsec_abc"


def test_rotation_reencrypts_under_the_newest_key():
    old_token = SecretBox([OLD]).encrypt("license-1")
    rotated_box = SecretBox([OLD, NEW])
    assert rotated_box.decrypt(old_token) == "license-1"
    new_token = rotated_box.rotate(old_token)
    assert SecretBox([NEW]).decrypt(new_token) == "license-1"
    with pytest.raises(InvalidToken):
        SecretBox([NEW]).decrypt(old_token)


def test_keyed_hash_candidates_cover_every_key_newest_first():
    old = KeyedHasher([OLD], "api-key").digest("value")
    both = KeyedHasher([OLD, NEW], "api-key")
    assert both.candidates("value") == [both.digest("value"), old]
    assert KeyedHasher([OLD], "other").digest("value") != old
