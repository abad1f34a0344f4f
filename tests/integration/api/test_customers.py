"""Customers over HTTP: create, read, external id, list with cursors, update, archive, events."""

import msgspec
import pytest

from server.db.tables import Customer, WebhookEvent


async def _create(client, headers, **fields):
    response = await client.post(
        "/v1/customers", json={"email": "ada@example.com", **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _event_types(org_id):
    rows = await WebhookEvent.select(WebhookEvent.type, WebhookEvent.payload).where(
        WebhookEvent.org == org_id
    )
    return [(r["type"], msgspec.json.decode(r["payload"])) for r in rows]


async def test_create_and_read_by_id_and_external_id(client, api_headers, org):
    created = await _create(client, api_headers, name="Ada", external_id="user_1", metadata={"a": "b"})
    assert created["external_id"] == "user_1"
    assert created["billing_address"] == {}
    by_id = await client.get(f"/v1/customers/{created['id']}", headers=api_headers)
    assert by_id.json() == created
    by_external = await client.get("/v1/customers/external/user_1", headers=api_headers)
    assert by_external.json()["id"] == created["id"]
    events = await _event_types(org.org.id)
    assert [t for t, _ in events] == ["customer.created"]
    assert events[0][1]["id"] == created["id"]


async def test_duplicate_external_id_is_conflict(client, api_headers):
    await _create(client, api_headers, external_id="dup")
    response = await client.post(
        "/v1/customers", json={"email": "b@example.com", "external_id": "dup"}, headers=api_headers
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["type"]) == ("conflict", "https://selfserve.dev/problems/conflict")


async def test_bad_input_is_refused_with_problem_json(client, api_headers):
    for body in ({"email": "not-an-email"}, {"email": "a@b.co", "nope": 1}, {}):
        response = await client.post("/v1/customers", json=body, headers=api_headers)
        assert response.status_code == 400, body
        assert response.json()["status"] == 400
    response = await client.post(
        "/v1/customers", content=b"{not json", headers={**api_headers, "content-type": "application/json"}
    )
    assert response.status_code == 400


async def test_unknown_and_other_orgs_customers_are_not_found(client, api_headers, org, keyring):
    from server.organizations.service import create_organization

    other = await create_organization(keyring, name="Other shop")
    theirs = await _create(client, {"Authorization": f"Bearer {other.api_key}"})
    assert (await client.get(f"/v1/customers/{theirs['id']}", headers=api_headers)).status_code == 404
    assert (await client.get("/v1/customers/external/nobody", headers=api_headers)).status_code == 404
    patched = await client.patch(f"/v1/customers/{theirs['id']}", json={"name": "x"}, headers=api_headers)
    assert patched.status_code == 404


async def test_list_pages_with_a_stable_cursor(client, api_headers):
    ids = [(await _create(client, api_headers, email=f"c{i}@example.com"))["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/customers", params=params, headers=api_headers)).json()
        assert len(page["items"]) <= 2
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    bad = await client.get("/v1/customers", params={"cursor": "garbage!"}, headers=api_headers)
    assert bad.status_code == 422
    by_email = await client.get("/v1/customers", params={"email": "c3@example.com"}, headers=api_headers)
    assert [c["id"] for c in by_email.json()["items"]] == [ids[3]]


async def test_update_changes_only_given_fields_and_emits_event(client, api_headers, org):
    created = await _create(client, api_headers, name="Ada", tax_id="X1")
    response = await client.patch(
        f"/v1/customers/{created['id']}",
        json={"name": "Ada King", "billing_address": {"country": "GB", "city": "London"}},
        headers=api_headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Ada King"
    assert body["tax_id"] == "X1"
    assert body["billing_address"] == {"city": "London", "country": "GB"}
    assert [t for t, _ in await _event_types(org.org.id)] == ["customer.created", "customer.updated"]


async def test_an_unknown_country_code_is_refused_on_create_and_update(client, api_headers):
    created = await _create(client, api_headers, billing_address={"country": "DE"})
    assert created["billing_address"] == {"country": "DE"}
    for code in ("XX", "EU", "ZZ"):
        response = await client.patch(
            f"/v1/customers/{created['id']}", json={"billing_address": {"country": code}}, headers=api_headers
        )
        assert response.status_code == 422, code
        assert response.headers["content-type"].startswith("application/problem+json")
        assert f"{code!r} is not an ISO 3166-1 alpha-2 country code" in response.json()["detail"]
    refused = await client.post(
        "/v1/customers",
        json={"email": "x@example.com", "billing_address": {"country": "UK"}},
        headers=api_headers,
    )
    assert refused.status_code == 422
    kept = await client.get(f"/v1/customers/{created['id']}", headers=api_headers)
    assert kept.json()["billing_address"] == {"country": "DE"}


async def test_archive_hides_from_list_but_keeps_the_record(client, api_headers):
    created = await _create(client, api_headers)
    response = await client.post(f"/v1/customers/{created['id']}/archive", headers=api_headers)
    assert response.status_code == 200
    assert response.json()["archived_at"] is not None
    listed = (await client.get("/v1/customers", headers=api_headers)).json()["items"]
    assert created["id"] not in [c["id"] for c in listed]
    assert (await client.get(f"/v1/customers/{created['id']}", headers=api_headers)).status_code == 200


CONTROL_CHARACTERS = ("\x00", "\x01", "\x1b[31m", "\n", "\x7f", "\x9b")
TEXT_FIELDS = {
    "email": "a{}@example.com",
    "billing_email": "b{}@example.com",
    "name": "Ada{}",
    "billing_name": "Ada{}",
    "company_name": "Acme{}",
    "tax_id": "DE123{}",
    "external_id": "user_1{}",
    "billing_address": {"line1": "12 Row{}", "city": "London"},
}


@pytest.mark.parametrize("field", TEXT_FIELDS)
async def test_control_characters_are_refused_in_every_text_field(client, api_headers, org, field):
    existing = await _create(client, api_headers)
    for character in CONTROL_CHARACTERS:
        template = TEXT_FIELDS[field]
        value = (
            {k: v.format(character) for k, v in template.items()}
            if isinstance(template, dict)
            else template.format(character)
        )
        body = {"email": "ada@example.com", field: value}
        created = await client.post("/v1/customers", json=body, headers=api_headers)
        assert created.status_code == 400, (field, character, created.text)
        assert created.headers["content-type"] == "application/problem+json"
        updated = await client.patch(
            f"/v1/customers/{existing['id']}", json={field: value}, headers=api_headers
        )
        assert updated.status_code == 400, (field, character, updated.text)
    assert await Customer.count().where(Customer.org == org.org.id) == 1
    unchanged = await client.get(f"/v1/customers/{existing['id']}", headers=api_headers)
    assert unchanged.json() == existing
