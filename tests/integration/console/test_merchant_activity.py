"""The merchant's own activity log: every write to keys, webhook endpoints, portal settings, sign-in
providers and the team leaves an entry naming who did it (the staff member in the console, the API key
through the API, since both go through the same services), newest first on the console's home page and
at ``GET /v1/activity``."""

from __future__ import annotations

import re

from server.auth.api_keys import display_prefix
from server.enums import StaffRole
from tests.integration.console.test_portal_settings import FORM

SECRET = re.compile(r'<code id="sc-secret">([^<]+)</code>')
ENDPOINT_ID = re.compile(r'/console/developers/webhooks/([\w-]+)/test"')
DELIVERY_ID = re.compile(r'/console/developers/deliveries/([\w-]+)/redeliver"')


async def activity(client, api_headers) -> list[dict]:
    response = await client.get("/v1/activity", headers=api_headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_each_console_write_is_logged_with_the_staff_member_newest_first(
    staff_as, client, api_headers, httpserver
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    owner = await staff_as(StaffRole.OWNER)
    created = await owner.post("/console/developers/api-keys", {"name": "logged"})
    prefix = display_prefix(SECRET.search(created.text).group(1))
    forms = re.findall(r'api-keys/([\w-]+)/revoke".*?aria-label="Revoke ([^"]+)"', created.text, re.S)
    [key_id] = [found for found, shown in forms if shown == prefix]
    await owner.post(f"/console/developers/api-keys/{key_id}/revoke")
    added = await owner.post("/console/developers/webhooks", {"url": httpserver.url_for("/hook")})
    endpoint_id = ENDPOINT_ID.search(added.text).group(1)
    await owner.post(f"/console/developers/webhooks/{endpoint_id}/rotate")
    sent = await owner.post(f"/console/developers/webhooks/{endpoint_id}/test")
    await owner.post(f"/console/developers/deliveries/{DELIVERY_ID.search(sent.text).group(1)}/redeliver")
    await owner.post("/console/portal", FORM)
    await owner.post(
        "/console/portal/sign-in/github", {"client_id": "Iv1.x", "client_secret": "s", "enabled": "1"}
    )
    await owner.post("/console/portal/sign-in/github/remove")
    await owner.post("/console/team", {"email": "new@team.example", "role": "viewer"})

    entries = await activity(client, api_headers)
    expected = [
        "staff.added",
        "oauth_provider.removed",
        "oauth_provider.set",
        "portal_settings.updated",
        "webhook_delivery.redelivered",
        "webhook_endpoint.test_sent",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.created",
        "api_key.revoked",
        "api_key.created",
    ]
    mine = [e for e in entries if e["staff"] == owner.email]
    assert [e["name"] for e in mine] == expected
    assert all(e["actor"] == "merchant" and "api_key" not in e["details"] for e in mine)
    assert mine[-1]["details"]["prefix"] == mine[-2]["details"]["prefix"]

    home = await owner.get("/console")
    listed = re.search(r'<ol class="ss-list sc-activity">(.*?)</ol>', home.text, re.S).group(1)
    assert listed.count(owner.email) == len(expected)
    assert listed.index("added a team member") < listed.index("created API key")
    assert "set up sign-in with github" in listed


async def test_a_write_through_the_api_names_its_key_and_shows_in_the_console(
    staff_as, client, api_headers, org
):
    created = await client.post("/v1/api-keys", json={"name": "from the api"}, headers=api_headers)
    assert created.status_code in (200, 201), created.text
    [entry] = [e for e in await activity(client, api_headers) if e["name"] == "api_key.created"]
    assert entry["staff"] is None
    assert entry["details"]["api_key"] == display_prefix(org.api_key)
    viewer = await staff_as(StaffRole.VIEWER)
    home = await viewer.get("/console")
    shown = " ".join(re.sub(r"<[^>]+>", " ", home.text).split())
    assert f"API key {display_prefix(org.api_key)}… created API key {entry['details']['prefix']}…" in shown
    assert "The command line added a team member (viewer)" in shown


async def test_a_refused_write_leaves_no_entry(staff_as, client, api_headers):
    admin = await staff_as(StaffRole.ADMIN)
    refused = await admin.post("/console/portal", {**FORM, "primary_color": "red;}"})
    assert refused.status_code == 422
    viewer = await staff_as(StaffRole.VIEWER)
    assert (await viewer.post("/console/developers/api-keys", {"name": "x"})).status_code == 403
    assert [e["name"] for e in await activity(client, api_headers)] == ["staff.added", "staff.added"]


async def test_another_merchants_activity_is_not_listed(client, api_headers, org, staff_as):
    admin = await staff_as(StaffRole.ADMIN)
    await admin.post("/console/developers/api-keys", {"name": "ours"})
    other = await client.get("/v1/activity", headers={"Authorization": "Bearer ss_sk_" + "x" * 40})
    assert other.status_code == 401
    assert (await client.get("/v1/activity?limit=0", headers=api_headers)).status_code in (400, 422)
