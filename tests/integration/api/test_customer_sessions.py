"""``POST /v1/customer-sessions`` finds the API key's organization and the customer in one statement: a
revoked key, an archived customer or another merchant's customer is refused on the very next mint, an
Idempotency-Key replays the same token, and ``last_used_at`` is written at most once a minute."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer

from server.auth.tokens import SALT
from server.clock import FrozenClock, use_clock
from server.db.tables import ApiKey, Organization
from server.errors import Invalid, NotFound
from server.organizations.api_keys import LAST_USED_PRECISION, authenticate_api_key
from server.organizations.customer_sessions import CustomerRef, FoundCustomer
from server.organizations.service import create_api_key, create_organization

MINT = "/v1/customer-sessions"


@pytest.fixture
async def customer(client, api_headers):
    response = await client.post(
        "/v1/customers", json={"email": "mint@example.com", "external_id": "mint-1"}, headers=api_headers
    )
    assert response.status_code == 201
    return response.json()


async def test_a_mint_by_id_and_by_external_id_names_the_same_customer(client, api_headers, customer):
    by_id = await client.post(MINT, json={"customer_id": customer["id"]}, headers=api_headers)
    by_external_id = await client.post(MINT, json={"external_customer_id": "mint-1"}, headers=api_headers)
    assert by_id.status_code == by_external_id.status_code == 201
    assert by_id.json()["customer_id"] == by_external_id.json()["customer_id"] == customer["id"]
    assert by_id.json()["token"] != by_external_id.json()["token"]


async def test_a_revoked_key_is_refused_on_the_next_mint(client, org, keyring, customer):
    second = await create_api_key(keyring, org.org, name="revoke-me")
    headers = {"Authorization": f"Bearer {second}"}
    assert (await client.post(MINT, json={"customer_id": customer["id"]}, headers=headers)).status_code == 201
    await ApiKey.update({ApiKey.revoked_at: datetime.now(UTC)}).where(ApiKey.name == "revoke-me")
    refused = await client.post(MINT, json={"customer_id": customer["id"]}, headers=headers)
    assert refused.status_code == 401


async def test_an_archived_customer_is_refused_on_the_next_mint(client, api_headers, customer):
    assert (await client.post(MINT, json={"external_customer_id": "mint-1"}, headers=api_headers)).is_success
    await client.post(f"/v1/customers/{customer['id']}/archive", headers=api_headers)
    for body in ({"external_customer_id": "mint-1"}, {"customer_id": customer["id"]}):
        refused = await client.post(MINT, json=body, headers=api_headers)
        assert refused.status_code == 422
        assert refused.json()["detail"] == "this customer is archived"


async def test_another_merchants_customer_is_not_found(client, keyring, customer):
    other = await create_organization(keyring, name="Other shop")
    headers = {"Authorization": f"Bearer {other.api_key}"}
    for body in ({"external_customer_id": "mint-1"}, {"customer_id": customer["id"]}):
        assert (await client.post(MINT, json=body, headers=headers)).status_code == 404


async def test_a_bad_key_is_401_before_the_body_is_judged(client, customer):
    headers = {"Authorization": "Bearer ss_sk_nope"}
    both = {"customer_id": customer["id"], "external_customer_id": "mint-1"}
    assert (await client.post(MINT, json=both, headers=headers)).status_code == 401


async def test_an_idempotent_mint_replays_the_same_token(client, api_headers, customer):
    headers = {**api_headers, "Idempotency-Key": "mint-once"}
    first = await client.post(MINT, json={"external_customer_id": "mint-1"}, headers=headers)
    again = await client.post(MINT, json={"external_customer_id": "mint-1"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["token"] == first.json()["token"]
    assert again.headers["idempotent-replayed"] == "true"
    other_key = {**api_headers, "Idempotency-Key": "mint-nobody"}
    missing = await client.post(MINT, json={"external_customer_id": "nobody"}, headers=other_key)
    assert missing.status_code == 404


async def test_the_minted_token_is_the_serializers_uncompressed_format(
    client, api_headers, customer, settings
):
    token = (await client.post(MINT, json={"customer_id": customer["id"]}, headers=api_headers)).json()[
        "token"
    ]
    assert not token.startswith(".")
    serializer = URLSafeSerializer(
        settings.secret_keys[-1], salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
    payload = serializer.loads(token)
    assert payload["sub"] == customer["id"]


async def test_the_callers_organization_is_the_stored_one(org, keyring):
    caller = await authenticate_api_key(keyring, org.api_key)
    assert caller is not None
    stored = await Organization.objects().where(Organization.id == org.org.id).first()
    assert caller.org.to_dict() == stored.to_dict()
    assert caller.org_id == org.org.id


async def test_last_used_is_written_at_most_once_a_minute(org, keyring):
    async def last_used():
        row = await ApiKey.select(ApiKey.last_used_at).where(ApiKey.org == org.org.id).first()
        return row["last_used_at"]

    clock = FrozenClock(datetime(2030, 1, 1, 12, tzinfo=UTC))
    with use_clock(clock):
        await authenticate_api_key(keyring, org.api_key)
        first = await last_used()
        assert first == clock.now()
        clock.advance(LAST_USED_PRECISION - timedelta(seconds=1))
        await authenticate_api_key(keyring, org.api_key)
        assert await last_used() == first
        clock.advance(timedelta(seconds=1))
        await authenticate_api_key(keyring, org.api_key)
        assert await last_used() == clock.now()


@pytest.mark.parametrize("ref", [CustomerRef(), CustomerRef(uuid.uuid4(), "x")])
def test_a_reference_needs_exactly_one_way_to_name_the_customer(ref):
    assert ref.match is None
    with pytest.raises(Invalid, match="exactly one"):
        ref.live_id(FoundCustomer(str(uuid.uuid4()), archived=False))


def test_a_missing_customer_is_404_with_the_name_it_was_given():
    with pytest.raises(NotFound, match="no customer with external_id 'x'"):
        CustomerRef(external_customer_id="x").live_id(None)


async def test_a_token_scoped_to_a_view_the_portal_does_not_have_is_refused(client, api_headers):
    customer = await client.post("/v1/customers", json={"email": "scoped@example.com"}, headers=api_headers)
    for views in (["seats"], ["orders", "benefits"]):
        refused = await client.post(
            "/v1/customer-sessions",
            json={"customer_id": customer.json()["id"], "views": views},
            headers=api_headers,
        )
        assert refused.status_code == 422, views
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "invalid"
        assert "unknown views" in refused.json()["detail"]
    scoped = await client.post(
        "/v1/customer-sessions",
        json={"customer_id": customer.json()["id"], "views": ["orders"]},
        headers=api_headers,
    )
    assert scoped.status_code == 201
