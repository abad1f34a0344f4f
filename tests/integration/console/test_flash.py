"""POST, redirect, GET: a console form that worked answers 303 to a page with its message (and a secret
to show once) in an encrypted one-time cookie; the page shows it once and clears it, so a reload neither
sends the form again nor shows the secret again. A refused form re-renders with its message (422)."""

from __future__ import annotations

from server.console.pages import FLASH
from server.db.tables import ApiKey
from server.enums import StaffRole
from tests.integration.console.conftest import COOKIE, cookie_from


async def test_a_created_key_redirects_and_its_secret_is_shown_once(staff_as, org):
    admin = await staff_as(StaffRole.ADMIN)
    before = await ApiKey.count().where(ApiKey.org == org.org.id)
    page = await admin.post("/console/developers/api-keys", {"name": "once"})
    sent = admin.sent
    assert sent.status_code == 303
    assert sent.headers["location"] == "/console/developers"
    assert sent.text == ""
    sealed = cookie_from(sent, FLASH)
    assert "ss_sk_" not in sealed  # the secret travels encrypted
    assert "API key ss_sk_" in page.text
    assert 'id="sc-secret">ss_sk_' in page.text
    assert f'{FLASH}=""' in page.headers["set-cookie"] or f"{FLASH}=;" in page.headers["set-cookie"]

    reloaded = await admin.get("/console/developers")  # the browser dropped the cleared cookie
    assert 'id="sc-secret"' not in reloaded.text
    assert "created." not in reloaded.text
    assert await ApiKey.count().where(ApiKey.org == org.org.id) == before + 1


async def test_a_flash_cookie_that_is_not_ours_is_ignored(staff_as):
    admin = await staff_as(StaffRole.ADMIN)
    forged = await admin.get(
        "/console/developers", headers={"cookie": f"{COOKIE}={admin.cookie}; {FLASH}=not-sealed-by-us"}
    )
    assert forged.status_code == 200
    assert 'id="sc-secret"' not in forged.text


async def test_every_successful_form_redirects(staff_as, client, api_headers):
    owner = await staff_as(StaffRole.OWNER)
    for path, data, message in (
        ("/console/team", {"email": "flash@team.example", "role": "viewer"}, "can now sign in as viewer."),
        ("/console/portal/sign-in/google", {"client_id": "g", "client_secret": "s"}, "sign in with Google."),
        ("/console/portal/sign-in/google/remove", {}, "Google sign-in removed."),
    ):
        page = await owner.post(path, data)
        assert owner.sent.status_code == 303, path
        assert message in page.text, path


async def test_a_refused_form_is_shown_again_with_its_message_not_redirected(staff_as):
    owner = await staff_as(StaffRole.OWNER)
    refused = await owner.post("/console/team", {"email": "not an address", "role": "viewer"})
    assert refused.status_code == 422
    assert 'value="not an address"' in refused.text
