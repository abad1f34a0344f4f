"""Developer settings in the console: API keys shown once and revoked, webhook endpoints with a secret shown
once, a test event a real receiver verifies with ``standardwebhooks``, secret rotation, and the delivery log
with payloads, response codes and a redeliver button."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
from standardwebhooks import Webhook
from werkzeug import Response as ReceiverResponse

from server.enums import StaffRole
from server.worker import JobContext
from tests.integration.webhooks.support import deliver_until_settled

SECRET = re.compile(r'<code id="sc-secret">([^<]+)</code>')


@pytest.fixture
def job_context(settings, keyring):
    return JobContext(dataclasses.replace(settings, allow_local_webhooks=True), keyring)


async def test_an_admin_creates_a_key_shown_once_that_works_and_revokes_it(client, staff_as):
    admin = await staff_as(StaffRole.ADMIN)
    created = await admin.post("/console/developers/api-keys", {"name": "billing sync"})
    assert created.status_code == 200
    key = SECRET.search(created.text).group(1)
    assert key.startswith("ss_sk_")
    assert (
        await client.get("/v1/organization", headers={"authorization": f"Bearer {key}"})
    ).status_code == 200
    page = await admin.get("/console/developers")
    assert key not in page.text
    assert "billing sync" in page.text
    forms = re.findall(r'api-keys/([\w-]+)/revoke".*?aria-label="Revoke ([^"]+)"', page.text, re.S)
    [key_id] = [found for found, prefix in forms if key.startswith(prefix)]
    revoked = await admin.post(f"/console/developers/api-keys/{key_id}/revoke")
    assert "revoked." in revoked.text
    assert (
        await client.get("/v1/organization", headers={"authorization": f"Bearer {key}"})
    ).status_code == 401


async def test_a_test_event_reaches_a_receiver_signed_with_the_secret_shown_once(
    staff_as, httpserver, job_context, org
):
    admin = await staff_as(StaffRole.ADMIN)
    httpserver.expect_request("/hook").respond_with_data("ok")
    url = httpserver.url_for("/hook")
    added = await admin.post(
        "/console/developers/webhooks", {"url": url, "description": "crm", "event_types": "order.paid"}
    )
    assert added.status_code == 200, added.text
    secret = SECRET.search(added.text).group(1)
    assert '<p class="ss-hint">order.paid</p>' in added.text  # the types it subscribes to, as a list
    endpoint_id = re.search(r'/console/developers/webhooks/([\w-]+)/test"', added.text).group(1)
    sent = await admin.post(f"/console/developers/webhooks/{endpoint_id}/test")
    assert "webhook_endpoint.test event is on its way" in sent.text
    await deliver_until_settled(job_context, org.org.id)
    [(request, _)] = httpserver.log
    payload = Webhook(secret).verify(request.get_data(), dict(request.headers))
    assert payload["type"] == "webhook_endpoint.test"
    assert payload["data"] == {"endpoint_id": endpoint_id}
    log = await admin.get("/console/developers")
    assert "succeeded" in log.text
    assert "response <span data-code>200</span>" in log.text
    assert f'"endpoint_id": "{endpoint_id}"' in html.unescape(log.text)

    rotated = await admin.post(f"/console/developers/webhooks/{endpoint_id}/rotate")
    new_secret = SECRET.search(rotated.text).group(1)
    assert new_secret != secret
    assert "keeps signing beside it for 24 hours" in rotated.text


async def test_a_failed_delivery_shows_its_response_code_and_redelivers(
    staff_as, httpserver, job_context, org
):
    admin = await staff_as(StaffRole.ADMIN)
    httpserver.expect_oneshot_request("/flaky").respond_with_response(ReceiverResponse("down", status=503))
    added = await admin.post("/console/developers/webhooks", {"url": httpserver.url_for("/flaky")})
    endpoint_id = re.search(r'/console/developers/webhooks/([\w-]+)/test"', added.text).group(1)
    await admin.post(f"/console/developers/webhooks/{endpoint_id}/test")
    await deliver_until_settled(job_context, org.org.id)
    page = (await admin.get("/console/developers")).text
    assert '<p class="ss-hint">every event</p>' in page
    assert "response <span data-code>503</span>" in page
    delivery_id = re.search(r'/console/developers/deliveries/([\w-]+)/redeliver"', page).group(1)
    httpserver.expect_request("/flaky").respond_with_data("ok")
    again = await admin.post(f"/console/developers/deliveries/{delivery_id}/redeliver")
    assert f"Delivery {delivery_id} is being sent again." in again.text
    await deliver_until_settled(job_context, org.org.id)
    assert len(httpserver.log) == 2
    assert "response <span data-code>200</span>" in (await admin.get("/console/developers")).text


async def test_a_bad_url_is_refused_with_the_apis_reason_and_kept_in_the_form(staff_as):
    admin = await staff_as(StaffRole.ADMIN)
    refused = await admin.post("/console/developers/webhooks", {"url": "ftp://example.com/x"})
    assert refused.status_code == 422
    assert 'value="ftp://example.com/x"' in refused.text
    unknown = await admin.post(
        "/console/developers/webhooks", {"url": "https://example.com/x", "event_types": "order.lost"}
    )
    assert unknown.status_code == 422
    assert "unknown event types: order.lost" in unknown.text


@pytest.mark.parametrize("role", [StaffRole.VIEWER, StaffRole.SUPPORT])
async def test_below_admin_the_page_is_read_only(staff_as, role):
    member = await staff_as(role)
    page = (await member.get("/console/developers")).text
    assert "Secret API keys" in page
    for control in ("Create API key", "Add endpoint", ">Revoke<", "Redeliver", "Rotate secret"):
        assert control not in page
    assert (await member.post("/console/developers/api-keys", {"name": "x"})).status_code == 403
    assert (
        await member.post("/console/developers/webhooks", {"url": "https://e.example"})
    ).status_code == 403
