import logging
import uuid

import msgspec
import pytest
import standardwebhooks

from server.db.engine import write_transaction
from server.db.tables import WebhookEndpoint
from server.webhooks.delivery import deliver_due
from server.webhooks.outbox import record_event

PUBLIC_URL = "https://hooks.invalid/selfserve"  # .invalid never resolves: nothing is ever sent


async def _create(client, headers, **body):
    response = await client.post("/v1/webhook-endpoints", json={"url": PUBLIC_URL, **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_the_secret_is_shown_once_and_encrypted_at_rest(client, api_headers, keyring):
    created = await _create(client, api_headers, event_types=["order.paid"], description="books")
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["order.paid"]
    assert created["enabled"] is True
    row = await WebhookEndpoint.objects().where(WebhookEndpoint.id == uuid.UUID(created["id"])).first()
    assert created["secret"] not in row.secret_encrypted
    assert keyring.box.decrypt(row.secret_encrypted) == created["secret"]

    fetched = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=api_headers)
    listed = await client.get("/v1/webhook-endpoints", headers=api_headers)
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    assert [e["id"] for e in listed.json()["items"]] == [created["id"]]
    assert created["secret"] not in fetched.text + listed.text


async def test_unknown_event_types_and_unsafe_urls_are_refused(client, api_headers, org):
    bad_type = await client.post(
        "/v1/webhook-endpoints",
        json={"url": PUBLIC_URL, "event_types": ["order.exploded"]},
        headers=api_headers,
    )
    assert bad_type.status_code == 422
    assert "order.exploded" in bad_type.json()["detail"]
    for url in (
        "http://127.0.0.1:9/x",
        "http://0x7f000001/",
        "http://[::ffff:10.0.0.1]/",
        "http://localhost/",
    ):
        response = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=api_headers)
        assert response.status_code == 422, url
        assert response.headers["content-type"] == "application/problem+json"
    unknown_field = await client.post(
        "/v1/webhook-endpoints", json={"url": PUBLIC_URL, "secret": "mine"}, headers=api_headers
    )
    assert unknown_field.status_code == 400
    assert await WebhookEndpoint.count().where(WebhookEndpoint.org == org.org.id) == 0


async def test_update_disable_enable_and_delete(client, api_headers):
    created = await _create(client, api_headers)
    url = f"/v1/webhook-endpoints/{created['id']}"
    patched = await client.patch(
        url, json={"enabled": False, "description": "paused", "event_types": []}, headers=api_headers
    )
    assert patched.status_code == 200
    assert (patched.json()["enabled"], patched.json()["description"]) == (False, "paused")
    refused = await client.patch(url, json={"url": "http://169.254.169.254/"}, headers=api_headers)
    assert refused.status_code == 422
    assert (await client.get(url, headers=api_headers)).json()["url"] == PUBLIC_URL
    assert (await client.delete(url, headers=api_headers)).status_code == 204
    assert (await client.get(url, headers=api_headers)).status_code == 404


async def test_another_orgs_endpoint_is_not_found(client, api_headers, org, keyring):
    from server.organizations.service import create_organization

    other = await create_organization(keyring, name=f"Other {uuid.uuid4().hex[:6]}")
    created = await _create(client, {"Authorization": f"Bearer {other.api_key}"})
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/v1/webhook-endpoints/{created['id']}", headers=api_headers)
        assert response.status_code == 404
    rotate = await client.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret", headers=api_headers)
    assert rotate.status_code == 404


async def test_rotation_signs_with_both_secrets_for_a_day(
    local_client, api_headers, org, httpserver, job_context
):
    from werkzeug import Response

    received = []
    httpserver.expect_request("/rotating").respond_with_handler(
        lambda request: received.append((dict(request.headers), request.get_data())) or Response("ok")
    )
    created = (
        await local_client.post(
            "/v1/webhook-endpoints", json={"url": httpserver.url_for("/rotating")}, headers=api_headers
        )
    ).json()
    rotated = await local_client.post(
        f"/v1/webhook-endpoints/{created['id']}/rotate-secret", headers=api_headers
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None

    async with write_transaction():
        await record_event(org.org.id, "customer.updated", {"id": "c_1"})
    await deliver_due(job_context, org_id=org.org.id)
    headers, body = received[-1]
    assert len(headers["Webhook-Signature"].split(" ")) == 2
    for secret in (created["secret"], new_secret):
        assert standardwebhooks.Webhook(secret).verify(body, headers)["type"] == "customer.updated"


async def test_delivery_log_filters_paginates_and_redelivers(
    local_client, api_headers, org, httpserver, job_context
):
    httpserver.expect_request("/log").respond_with_data("nope", status=500)
    endpoint = (
        await local_client.post(
            "/v1/webhook-endpoints", json={"url": httpserver.url_for("/log")}, headers=api_headers
        )
    ).json()
    async with write_transaction():
        for n in range(3):
            await record_event(org.org.id, "order.created", {"id": f"o_{n}"})
    await deliver_due(job_context, org_id=org.org.id)

    first = await local_client.get(
        "/v1/webhook-deliveries",
        params={"endpoint_id": endpoint["id"], "status": "pending", "limit": 2},
        headers=api_headers,
    )
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    second = await local_client.get(
        "/v1/webhook-deliveries",
        params={"endpoint_id": endpoint["id"], "limit": 2, "cursor": page["next_cursor"]},
        headers=api_headers,
    )
    items = page["items"] + second.json()["items"]
    assert second.json()["next_cursor"] is None
    assert len({i["id"] for i in items}) == 3
    for item in items:
        assert item["event_type"] == "order.created"
        assert (item["status"], item["attempts"], item["last_status_code"]) == ("pending", 1, 500)
        assert item["last_duration_ms"] is not None
        assert item["next_attempt_at"] is not None

    none_failed = await local_client.get(
        "/v1/webhook-deliveries", params={"status": "failed"}, headers=api_headers
    )
    assert none_failed.json()["items"] == []
    bad_status = await local_client.get(
        "/v1/webhook-deliveries", params={"status": "lost"}, headers=api_headers
    )
    assert bad_status.status_code == 400

    redelivered = await local_client.post(
        f"/v1/webhook-deliveries/{items[0]['id']}/redeliver", headers=api_headers
    )
    assert redelivered.status_code == 202
    assert (redelivered.json()["status"], redelivered.json()["attempts"]) == ("pending", 0)
    missing = await local_client.post(f"/v1/webhook-deliveries/{uuid.uuid4()}/redeliver", headers=api_headers)
    assert missing.status_code == 404


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"url": 5}'])
async def test_malformed_bodies_get_problem_json(client, api_headers, body):
    response = await client.post(
        "/v1/webhook-endpoints", content=body, headers={**api_headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert msgspec.json.decode(response.content)["status"] == 400


async def test_secrets_never_reach_the_logs(local_client, api_headers, org, httpserver, job_context, caplog):
    httpserver.expect_request("/quiet").respond_with_data("gone", status=410)
    with caplog.at_level(logging.DEBUG):
        created = await local_client.post(
            "/v1/webhook-endpoints", json={"url": httpserver.url_for("/quiet")}, headers=api_headers
        )
        rotated = await local_client.post(
            f"/v1/webhook-endpoints/{created.json()['id']}/rotate-secret", headers=api_headers
        )
        async with write_transaction():
            await record_event(org.org.id, "order.paid", {"id": "o1"})
        await deliver_due(job_context, org_id=org.org.id)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "disabled" in logged
    for secret in (created.json()["secret"], rotated.json()["secret"]):
        assert secret.removeprefix("whsec_") not in logged
