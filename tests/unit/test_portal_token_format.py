"""Portal tokens are itsdangerous ``URLSafeSerializer`` tokens: minted uncompressed now, while tokens minted
compressed (by earlier versions, or by a merchant's own itsdangerous) still verify and can be peeked at."""

import uuid

import msgspec
import pytest

from server.auth.tokens import (
    InvalidToken,
    _serializer,
    issue_portal_token,
    peek_ids,
    verify_portal_token,
)

SECRET = "embed-secret-" + "s" * 32


def _ids() -> tuple[uuid.UUID, uuid.UUID]:
    return uuid.uuid4(), uuid.uuid4()


def test_a_minted_token_is_what_the_serializer_reads():
    org_id, customer_id = _ids()
    token, claims = issue_portal_token(
        org_id=org_id, customer_id=customer_id, secret=SECRET, views=["orders"]
    )
    assert not token.startswith(".")
    assert _serializer(SECRET).loads(token) == msgspec.to_builtins(claims)
    assert peek_ids(token) == (org_id, customer_id)


def test_a_compressed_token_still_verifies():
    org_id, customer_id = _ids()
    _, claims = issue_portal_token(org_id=org_id, customer_id=customer_id, secret=SECRET)
    compressed = _serializer(SECRET).dumps(msgspec.to_builtins(claims))
    assert compressed.startswith(".")
    assert peek_ids(compressed) == (org_id, customer_id)
    assert verify_portal_token(compressed, keys=[SECRET], org_id=org_id) == claims


def test_the_signer_of_one_secret_does_not_sign_for_another():
    org_id, customer_id = _ids()
    token, _ = issue_portal_token(org_id=org_id, customer_id=customer_id, secret=SECRET)
    other, _ = issue_portal_token(org_id=org_id, customer_id=customer_id, secret=SECRET + "x")
    with pytest.raises(InvalidToken) as refused:
        verify_portal_token(other, keys=[SECRET], org_id=org_id)
    assert refused.value.reason == "signature"
    assert verify_portal_token(token, keys=[SECRET + "x", SECRET], org_id=org_id).org == str(org_id)


@pytest.mark.parametrize("token", ["", "abc", "abc.def", "!!!.sig", ".eJzLSM3JyQcABiwCFQ.sig", "W10.sig"])
def test_peeking_at_garbage_is_malformed(token):
    with pytest.raises(InvalidToken) as refused:
        peek_ids(token)
    assert refused.value.reason == "malformed"
