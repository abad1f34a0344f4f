import pytest

from server.auth.api_keys import generate_api_key
from server.db.tables import ApiKey, Organization
from server.errors import Conflict, Invalid
from server.organizations.api_keys import authenticate_api_key
from server.organizations.service import create_api_key, create_organization


async def test_the_org_key_authenticates_a_request(client, org, api_headers):
    response = await client.get("/v1/organization", headers=api_headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(org.org.id)
    assert body["slug"] == org.org.slug
    assert body["allowed_origins"] == ["http://localhost:3000", "https://app.example.com"]
    assert org.api_key not in response.text


async def test_secrets_are_not_stored_in_plaintext(org):
    row = await Organization.select().where(Organization.id == org.org.id).first()
    assert org.embed_secret not in str(row)
    keys = await ApiKey.select().where(ApiKey.org == org.org.id)
    assert keys
    assert all(org.api_key not in str(k) for k in keys)


@pytest.mark.parametrize(
    "header", ["Bearer ", "Basic abc", "Bearer ss_sk_nope", "Bearer " + generate_api_key()]
)
async def test_bad_keys_are_refused(client, org, header):
    response = await client.get("/v1/organization", headers={"Authorization": header})
    assert response.status_code == 401


async def test_revoked_key_is_refused(client, org, keyring):
    second = await create_api_key(keyring, org.org, name="ci")
    assert (
        await client.get("/v1/organization", headers={"Authorization": f"Bearer {second}"})
    ).status_code == 200
    await ApiKey.update({ApiKey.revoked_at: ApiKey.created_at}).where(
        ApiKey.org == org.org.id, ApiKey.name == "ci"
    )
    assert (
        await client.get("/v1/organization", headers={"Authorization": f"Bearer {second}"})
    ).status_code == 401
    assert await authenticate_api_key(keyring, org.api_key) is not None


async def test_last_used_is_recorded(client, org, api_headers):
    await client.get("/v1/organization", headers=api_headers)
    row = await ApiKey.select(ApiKey.last_used_at).where(ApiKey.org == org.org.id).first()
    assert row["last_used_at"] is not None


async def test_slugs_are_derived_unique_and_explicit_ones_conflict(engine, keyring):
    first = await create_organization(keyring, name="Zeta Widgets Ltd")
    second = await create_organization(keyring, name="Zeta Widgets Ltd")
    assert first.org.slug.startswith("zeta-widgets-ltd")
    assert second.org.slug != first.org.slug
    with pytest.raises(Conflict):
        await create_organization(keyring, name="Other", slug=first.org.slug)


@pytest.mark.parametrize(
    "kwargs",
    [{"name": ""}, {"name": "x" * 201}, {"name": "A", "slug": "Bad Slug"}, {"name": "A", "origins": ["*"]}],
)
async def test_invalid_org_input_is_refused_and_writes_nothing(engine, keyring, kwargs):
    before = await Organization.count()
    with pytest.raises(Invalid):
        await create_organization(keyring, **kwargs)
    assert await Organization.count() == before
