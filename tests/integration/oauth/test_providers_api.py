"""``/v1/oauth-providers``: configuring GitHub, Google and an OpenID Connect issuer; secrets go in encrypted
and never come out; bad input is problem+json."""

from server.db.tables import OAuthProvider
from server.schemas.common import json_value

SECRET = "client-secret-from-the-provider"


async def test_github_is_configured_and_its_secret_never_comes_back(api, org, keyring):
    put = await api.put("/v1/oauth-providers/github", json={"client_id": "Iv1.abc", "client_secret": SECRET})
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["provider"] == "github"
    assert body["name"] == "GitHub"
    assert body["client_id"] == "Iv1.abc"
    assert body["enabled"] is True
    assert body["issuer"] is None
    assert body["callback_url"] == f"http://127.0.0.1:8000/portal/{org.org.slug}/oauth/github/callback"
    assert SECRET not in put.text

    row = await OAuthProvider.objects().where(OAuthProvider.org == org.org.id).first()
    assert SECRET not in row.client_secret_encrypted
    assert keyring.box.decrypt(row.client_secret_encrypted) == SECRET

    listed = await api.get("/v1/oauth-providers")
    assert listed.status_code == 200
    assert [p["provider"] for p in listed.json()["items"]] == ["github"]
    assert SECRET not in listed.text
    assert (await api.get("/v1/oauth-providers/github")).json() == body


async def test_a_second_put_may_leave_the_secret_out_to_keep_it(api, org, keyring):
    await api.put("/v1/oauth-providers/google", json={"client_id": "one", "client_secret": SECRET})
    again = await api.put("/v1/oauth-providers/google", json={"client_id": "two", "enabled": False})
    assert again.status_code == 200
    assert again.json()["client_id"] == "two"
    assert again.json()["enabled"] is False
    row = await OAuthProvider.objects().where(OAuthProvider.org == org.org.id).first()
    assert keyring.box.decrypt(row.client_secret_encrypted) == SECRET
    assert await OAuthProvider.count().where(OAuthProvider.org == org.org.id) == 1


async def test_an_openid_issuer_is_discovered_when_saved(api, org, openid_provider):
    put = await api.put(
        "/v1/oauth-providers/oidc",
        json={
            "client_id": "portal",
            "client_secret": SECRET,
            "issuer": openid_provider.url + "/",
            "name": "Acme SSO",
        },
    )
    assert put.status_code == 200, put.text
    assert put.json()["issuer"] == openid_provider.url
    assert put.json()["name"] == "Acme SSO"
    row = await OAuthProvider.objects().where(OAuthProvider.org == org.org.id).first()
    metadata = json_value(row.metadata)
    assert metadata["token_endpoint"] == f"{openid_provider.url}/oauth2/token"
    assert metadata["jwks_uri"] == f"{openid_provider.url}/jwks"


async def test_an_issuer_without_a_discovery_document_is_refused(api, org, github):
    put = await api.put(
        "/v1/oauth-providers/oidc",
        json={"client_id": "portal", "client_secret": SECRET, "issuer": github.url},
    )
    assert put.status_code == 422
    assert put.headers["content-type"].startswith("application/problem+json")
    assert "discovery document" in put.json()["detail"]
    assert await OAuthProvider.count().where(OAuthProvider.org == org.org.id) == 0


async def test_a_local_issuer_is_refused_unless_the_setting_allows_it(
    client, api_headers, org, openid_provider
):
    put = await client.put(
        "/v1/oauth-providers/oidc",
        headers=api_headers,
        json={"client_id": "portal", "client_secret": SECRET, "issuer": openid_provider.url},
    )
    assert put.status_code == 422
    assert "may not call" in put.json()["detail"]


async def test_wrong_shapes_are_problems(api):
    cases = [
        ("/v1/oauth-providers/github", {"client_id": "x"}, 422),  # no secret the first time
        ("/v1/oauth-providers/oidc", {"client_id": "x", "client_secret": "y"}, 422),  # no issuer
        (
            "/v1/oauth-providers/github",
            {"client_id": "x", "client_secret": "y", "issuer": "https://a.example"},
            422,
        ),
        ("/v1/oauth-providers/github", {"client_id": "x\u0000", "client_secret": "y"}, 400),
        ("/v1/oauth-providers/github", {"client_id": "x", "client_secret": "y", "extra": 1}, 400),
        (
            "/v1/oauth-providers/oidc",
            {"client_id": "x", "client_secret": "y", "issuer": "ftp://a.example"},
            400,
        ),
        ("/v1/oauth-providers/facebook", {"client_id": "x", "client_secret": "y"}, 400),
    ]
    for path, body, status in cases:
        answer = await api.put(path, json=body)
        assert answer.status_code == status, (path, body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_delete_stops_offering_a_provider(api):
    await api.put("/v1/oauth-providers/github", json={"client_id": "x", "client_secret": "y"})
    assert (await api.delete("/v1/oauth-providers/github")).status_code == 204
    missing = await api.get("/v1/oauth-providers/github")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert (await api.delete("/v1/oauth-providers/github")).status_code == 404


async def test_the_operations_are_in_the_openapi_document(api):
    document = (await api.get("/schema/openapi.json")).json()
    operations = {
        op["operationId"]
        for path, item in document["paths"].items()
        if "oauth-providers" in path or "connected-accounts" in path
        for op in item.values()
    }
    assert operations == {
        "listOAuthProviders",
        "getOAuthProvider",
        "putOAuthProvider",
        "deleteOAuthProvider",
        "listConnectedAccounts",
    }
    put = document["paths"]["/v1/oauth-providers/{provider}"]["put"]
    assert "client_secret" not in str(document["components"]["schemas"]["OAuthProviderOut"])
    assert {"400", "401", "422"} <= set(put["responses"])
