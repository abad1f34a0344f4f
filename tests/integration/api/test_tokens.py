"""Portal tokens: minted by the API or offline, refused when tampered, expired, future-dated, for another
org or replayed, and burnt exactly once under concurrency."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from server.auth.replay import DatabaseReplayStore
from server.auth.tokens import InvalidToken, redeem_portal_token
from server.clock import FrozenClock, use_clock
from server.organizations.service import create_organization
from server.tokens import mint_portal_token


@pytest.fixture
async def customer(client, api_headers):
    response = await client.post(
        "/v1/customers", json={"email": "t@example.com", "external_id": "tok-1"}, headers=api_headers
    )
    return response.json()


def _offline(org, customer, **kw):
    return mint_portal_token(org_id=org.org.id, customer_id=customer["id"], secret=org.embed_secret, **kw)


async def _redeem(token, keyring, **kw):
    return await redeem_portal_token(token, keyring=keyring, replay_store=DatabaseReplayStore(), **kw)


async def test_offline_token_redeems_once(org, customer, keyring):
    token = _offline(org, customer, views=["orders"], read_only=True)
    claims = await _redeem(token, keyring, expected_org_id=org.org.id)
    assert str(claims.customer_id) == customer["id"]
    assert claims.views == ["orders"]
    assert claims.read_only is True


async def test_tampered_token_is_refused(org, customer, keyring):
    token = _offline(org, customer)
    payload, signature = token.rsplit(".", 1)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidToken) as refused:
        await _redeem(f"{payload}.{flipped}", keyring)
    assert refused.value.reason == "signature"
    with pytest.raises(InvalidToken):
        await _redeem("not-a-token", keyring)


async def test_token_signed_with_an_unknown_secret_is_refused(org, customer, keyring):
    forged = mint_portal_token(org_id=org.org.id, customer_id=customer["id"], secret="ss_es_guessed")
    with pytest.raises(InvalidToken) as refused:
        await _redeem(forged, keyring)
    assert refused.value.reason == "signature"


async def test_expired_token_is_refused_with_its_claims(org, customer, keyring):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with use_clock(FrozenClock(start)) as frozen:
        token = _offline(org, customer, ttl=60)
        frozen.advance(timedelta(seconds=61))
        with pytest.raises(InvalidToken) as refused:
            await _redeem(token, keyring)
    assert refused.value.reason == "expired"
    assert refused.value.claims is not None
    assert str(refused.value.claims.customer_id) == customer["id"]


async def test_future_dated_token_is_refused(org, customer, keyring):
    now = datetime.now(UTC)
    with use_clock(FrozenClock(now + timedelta(hours=1))):
        token = _offline(org, customer)
    with use_clock(FrozenClock(now)), pytest.raises(InvalidToken) as refused:
        await _redeem(token, keyring)
    assert refused.value.reason == "not_yet_valid"


async def test_other_orgs_token_is_refused(org, customer, keyring):
    other = await create_organization(keyring, name="Elsewhere")
    # Signed with the other org's secret but claiming this org: the signature does not verify.
    claiming_ours = mint_portal_token(
        org_id=org.org.id, customer_id=customer["id"], secret=other.embed_secret
    )
    with pytest.raises(InvalidToken) as refused:
        await _redeem(claiming_ours, keyring)
    assert refused.value.reason == "signature"
    # A genuine token of the other org, presented where this org is expected.
    theirs = mint_portal_token(org_id=other.org.id, customer_id=customer["id"], secret=other.embed_secret)
    with pytest.raises(InvalidToken) as refused:
        await _redeem(theirs, keyring, expected_org_id=org.org.id)
    assert refused.value.reason == "wrong_org"


async def test_replayed_token_is_refused(org, customer, keyring):
    token = _offline(org, customer)
    await _redeem(token, keyring)
    with pytest.raises(InvalidToken) as refused:
        await _redeem(token, keyring)
    assert refused.value.reason == "replayed"


async def test_token_limited_to_origins_is_refused_elsewhere(org, customer, keyring):
    token = _offline(org, customer, origins=["https://app.example.com"])
    with pytest.raises(InvalidToken) as refused:
        await _redeem(token, keyring, origin="https://evil.example.net")
    assert refused.value.reason == "origin"


async def test_twenty_concurrent_redemptions_make_exactly_one(org, customer, keyring):
    token = _offline(org, customer)
    results = await asyncio.gather(*(_redeem(token, keyring) for _ in range(20)), return_exceptions=True)
    successes = [r for r in results if not isinstance(r, BaseException)]
    refusals = [r for r in results if isinstance(r, InvalidToken) and r.reason == "replayed"]
    assert len(successes) == 1
    assert len(refusals) == 19


async def test_ttl_outside_the_allowed_range_is_refused(org, customer):
    from server.errors import Invalid

    for ttl in (59, 86_401):
        with pytest.raises(Invalid):
            _offline(org, customer, ttl=ttl)


async def test_api_minted_session_verifies_and_points_at_the_hosted_portal(
    client, api_headers, org, customer, keyring, settings
):
    response = await client.post(
        "/v1/customer-sessions",
        json={"external_customer_id": "tok-1", "ttl_seconds": 600, "return_url": "https://app.example.com/x"},
        headers=api_headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= {"id", "token", "expires_at", "customer_portal_url"}
    assert body["customer_portal_url"] == f"{settings.public_url}/portal/{org.org.slug}#token={body['token']}"
    assert "?" not in body["customer_portal_url"]
    claims = await _redeem(body["token"], keyring, expected_org_id=org.org.id)
    assert claims.jti == body["id"]
    assert claims.exp - claims.iat == 600
    assert claims.return_url == "https://app.example.com/x"


async def test_customer_session_defaults_ttl_to_the_portal_setting(client, api_headers, customer, keyring):
    await client.patch("/v1/portal-settings", json={"default_token_ttl": 120}, headers=api_headers)
    body = (
        await client.post("/v1/customer-sessions", json={"customer_id": customer["id"]}, headers=api_headers)
    ).json()
    claims = await _redeem(body["token"], keyring)
    assert claims.exp - claims.iat == 120


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({}, 422),
        ({"customer_id": "00000000-0000-0000-0000-000000000000"}, 404),
        ({"external_customer_id": "nobody"}, 404),
        ({"external_customer_id": "tok-1", "ttl_seconds": 30}, 400),
        ({"external_customer_id": "tok-1", "return_url": "http://evil.example.com"}, 422),
        ({"external_customer_id": "tok-1", "views": ["admin"]}, 422),
    ],
)
async def test_customer_session_errors(client, api_headers, customer, payload, status):
    response = await client.post("/v1/customer-sessions", json=payload, headers=api_headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
