"""What guards every merchant call: idempotency keys, the per-key rate limit, the body cap, key revocation,
and keeping secrets out of logs and later responses."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from server.api import idempotency
from server.clock import FrozenClock, use_clock
from server.db.tables import Customer, IdempotencyRecord
from server.security.ratelimit import API_KEY_LIMIT


def _keyed(headers, key):
    return {**headers, "Idempotency-Key": key}


async def _customers(org_id):
    return await Customer.count().where(Customer.org == org_id)


async def test_same_key_and_body_replays_the_first_response(client, api_headers, org):
    headers = _keyed(api_headers, "create-ada")
    first = await client.post("/v1/customers", json={"email": "ada@example.com"}, headers=headers)
    again = await client.post("/v1/customers", json={"email": "ada@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await _customers(org.org.id) == 1


async def test_same_key_with_another_body_is_422(client, api_headers, org):
    headers = _keyed(api_headers, "k")
    await client.post("/v1/customers", json={"email": "ada@example.com"}, headers=headers)
    other = await client.post("/v1/customers", json={"email": "bob@example.com"}, headers=headers)
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    assert await _customers(org.org.id) == 1


async def test_fifty_concurrent_identical_posts_make_one_row(client, api_headers, org):
    headers = _keyed(api_headers, "burst")
    responses = await asyncio.gather(
        *(client.post("/v1/customers", json={"email": "c@example.com"}, headers=headers) for _ in range(50))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert await _customers(org.org.id) == 1
    assert await IdempotencyRecord.count().where(IdempotencyRecord.org == org.org.id) == 1


async def test_duplicate_while_the_first_is_in_flight_is_409(client, api_headers, org, monkeypatch):
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT_SECONDS", 0.1)
    body = b'{"email":"slow@example.com"}'
    now = datetime.now(UTC)
    await IdempotencyRecord(
        org=org.org.id,
        key="slow",
        request_hash=idempotency.request_fingerprint("POST", "/v1/customers", b"", body),
        created_at=now,
        expires_at=now + idempotency.RETENTION,
    ).save()
    response = await client.post(
        "/v1/customers",
        content=body,
        headers={**_keyed(api_headers, "slow"), "content-type": "application/json"},
    )
    assert response.status_code == 409
    assert await _customers(org.org.id) == 0


async def test_key_is_forgotten_after_24_hours(client, api_headers, org):
    headers = _keyed(api_headers, "daily")
    start = datetime.now(UTC)
    with use_clock(FrozenClock(start)) as frozen:
        await client.post("/v1/customers", json={"email": "a@example.com"}, headers=headers)
        frozen.advance(idempotency.RETENTION)
        later = await client.post("/v1/customers", json={"email": "b@example.com"}, headers=headers)
    assert later.status_code == 201
    assert "idempotent-replayed" not in later.headers
    assert await _customers(org.org.id) == 2


async def test_failed_validation_is_remembered_too(client, api_headers, org):
    headers = _keyed(api_headers, "bad")
    first = await client.post("/v1/customers", json={"email": "nope"}, headers=headers)
    again = await client.post("/v1/customers", json={"email": "nope"}, headers=headers)
    assert first.status_code == again.status_code == 400
    assert again.content == first.content


async def test_idempotency_key_too_long_is_refused(client, api_headers):
    response = await client.post(
        "/v1/customers", json={"email": "a@example.com"}, headers=_keyed(api_headers, "x" * 256)
    )
    assert response.status_code == 422


async def test_rate_limit_answers_429_with_retry_after(client, app, api_headers, keyring, org):
    bucket = "api:" + keyring.api_key_hasher.digest(org.api_key)
    with use_clock(FrozenClock(datetime(2026, 5, 1, 12, 0, 15, tzinfo=UTC))) as frozen:
        for _ in range(API_KEY_LIMIT.hits):
            assert await app.state.rate_limiter.hit(bucket, API_KEY_LIMIT) is None
        frozen.advance(timedelta(seconds=15))
        response = await client.get("/v1/customers", headers=api_headers)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "45"
    assert response.json()["status"] == 429


@pytest.mark.parametrize("keyed", [False, True])
async def test_oversized_body_is_413(client, api_headers, settings, keyed):
    headers = _keyed(api_headers, "big") if keyed else api_headers
    blob = "x" * (settings.max_body_bytes + 1)
    response = await client.post(
        "/v1/customers", json={"email": "a@example.com", "name": blob}, headers=headers
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_api_keys_are_shown_once_and_revocable(client, api_headers, org):
    created = await client.post("/v1/api-keys", json={"name": "backend"}, headers=api_headers)
    assert created.status_code == 201
    new_key = created.json()["key"]
    new_headers = {"Authorization": f"Bearer {new_key}"}
    assert (await client.get("/v1/organization", headers=new_headers)).status_code == 200
    listing = await client.get("/v1/api-keys", headers=api_headers)
    assert new_key not in listing.text
    assert org.api_key not in listing.text
    assert len(listing.json()["items"]) == 2
    revoked = await client.delete(f"/v1/api-keys/{created.json()['id']}", headers=api_headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/v1/organization", headers=new_headers)).status_code == 401
    missing = await client.delete("/v1/api-keys/00000000-0000-0000-0000-000000000000", headers=api_headers)
    assert missing.status_code == 404


async def test_no_secret_reaches_a_log_line_or_a_later_response(client, api_headers, org, caplog):
    caplog.set_level(logging.DEBUG)
    created = await client.post("/v1/api-keys", json={}, headers=_keyed(api_headers, "new-key"))
    new_key = created.json()["key"]
    customer = await client.post("/v1/customers", json={"email": "s@example.com"}, headers=api_headers)
    session = await client.post(
        "/v1/customer-sessions", json={"customer_id": customer.json()["id"]}, headers=api_headers
    )
    token = session.json()["token"]
    await client.get("/v1/customers", headers={"Authorization": "Bearer ss_sk_wrong"})
    later = [
        await client.get(path, headers=api_headers)
        for path in ("/v1/api-keys", "/v1/organization", "/v1/portal-settings", "/v1/customers")
    ]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (org.api_key, new_key, org.embed_secret, token):
        assert secret not in logged
        assert all(secret not in response.text for response in later)
    stored = await IdempotencyRecord.select(IdempotencyRecord.response_body).where(
        IdempotencyRecord.org == org.org.id
    )
    assert stored
    assert all(new_key.encode() not in bytes(r["response_body"]) for r in stored)


async def test_options_and_405_list_every_method_of_the_path(client, api_headers):
    options = await client.options("/v1/customers", headers=api_headers)
    assert options.headers["allow"] == "GET, OPTIONS, POST"
    refused = await client.put("/v1/customers", headers=api_headers)
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == {"GET", "OPTIONS", "POST"}
    assert refused.headers["content-type"] == "application/problem+json"
