"""Sign-in methods on the console's Portal page: the email link always on, GitHub and an OpenID Connect
issuer set up, changed and removed through the service ``/v1/oauth-providers`` uses (the API then reports
the same), secrets never shown back, typed values kept on a refusal, and no writing below admin."""

from __future__ import annotations

import pytest

from server.db.tables import OAuthProvider
from server.enums import StaffRole

SECRET = "client-secret-typed-in-the-console"


async def test_an_admin_sets_up_github_and_the_api_reports_it_without_the_secret(
    staff_as, client, api_headers, org, keyring
):
    admin = await staff_as(StaffRole.ADMIN)
    page = await admin.get("/console/portal")
    assert "Email link</strong>: always on" in page.text
    assert f"/portal/{org.org.slug}/oauth/github/callback" in page.text

    saved = await admin.post(
        "/console/portal/sign-in/github",
        {"client_id": "Iv1.console", "client_secret": SECRET, "enabled": "1"},
    )
    assert admin.sent.status_code == 303
    assert "Customers can now sign in with GitHub." in saved.text
    assert "A client secret is set" in saved.text
    assert SECRET not in saved.text
    api = await client.get("/v1/oauth-providers/github", headers=api_headers)
    assert api.json()["client_id"] == "Iv1.console"
    assert api.json()["enabled"] is True

    # a blank secret keeps the stored one; unticking "offer it" disables it
    again = await admin.post(
        "/console/portal/sign-in/github", {"client_id": "Iv1.second", "client_secret": ""}
    )
    assert "Set up but not offered" in again.text
    row = await OAuthProvider.objects().where(OAuthProvider.org == org.org.id).first()
    assert keyring.box.decrypt(row.client_secret_encrypted) == SECRET
    assert (await client.get("/v1/oauth-providers/github", headers=api_headers)).json()["enabled"] is False

    removed = await admin.post("/console/portal/sign-in/github/remove")
    assert "GitHub sign-in removed." in removed.text
    assert (await client.get("/v1/oauth-providers/github", headers=api_headers)).status_code == 404


async def test_an_openid_issuer_is_discovered_and_a_wrong_one_is_refused_with_the_typed_values(
    staff_as, client, api_headers, openid_provider
):
    admin = await staff_as(StaffRole.OWNER)
    refused = await admin.post(
        "/console/portal/sign-in/oidc",
        {
            "issuer": "",
            "client_id": "portal-typed",
            "client_secret": SECRET,
            "name": "Typed SSO",
            "enabled": "1",
        },
    )
    assert refused.status_code == 422
    assert "needs its issuer URL" in refused.text
    assert 'value="portal-typed"' in refused.text
    assert 'value="Typed SSO"' in refused.text
    assert SECRET not in refused.text
    assert (await client.get("/v1/oauth-providers/oidc", headers=api_headers)).status_code == 404

    saved = await admin.post(
        "/console/portal/sign-in/oidc",
        {
            "issuer": openid_provider.url,
            "client_id": "portal",
            "client_secret": SECRET,
            "name": "Acme SSO",
            "enabled": "1",
        },
    )
    assert "Customers can now sign in with OpenID Connect." in saved.text
    assert "Continue with Acme SSO" in saved.text
    api = (await client.get("/v1/oauth-providers/oidc", headers=api_headers)).json()
    assert (api["issuer"], api["name"]) == (openid_provider.url, "Acme SSO")


@pytest.mark.parametrize("role", [StaffRole.VIEWER, StaffRole.SUPPORT])
async def test_below_admin_the_methods_are_shown_without_a_form_and_a_write_is_refused(
    staff_as, client, api_headers, role
):
    await client.put(
        "/v1/oauth-providers/github",
        json={"client_id": "Iv1.api", "client_secret": SECRET},
        headers=api_headers,
    )
    member = await staff_as(role)
    page = await member.get("/console/portal")
    assert "Continue with GitHub" in page.text
    assert "Iv1.api" in page.text
    assert "/console/portal/sign-in/" not in page.text
    for path in ("/console/portal/sign-in/github", "/console/portal/sign-in/github/remove"):
        refused = await member.post(path, {"client_id": "mine", "client_secret": "x"})
        assert refused.status_code == 403, path
    assert (await client.get("/v1/oauth-providers/github", headers=api_headers)).json()[
        "client_id"
    ] == "Iv1.api"


async def test_an_unknown_provider_is_not_found(staff_as):
    admin = await staff_as(StaffRole.ADMIN)
    assert (await admin.post("/console/portal/sign-in/myspace", {"client_id": "x"})).status_code == 404
