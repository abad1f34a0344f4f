"""Products with prices (fixed, per_seat, metered), meters and benefits over HTTP."""

import msgspec
import pytest

from server.benefits.grants import list_grants
from server.db.tables import Benefit, PriceMeter
from server.subscriptions.service import cancel_subscription, create_subscription
from tests.integration.factories import (
    make_benefit,
    make_customer,
    make_price,
    make_product,
)


async def _post(client, headers, path, body, status=201):
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
async def meter(client, api_headers):
    return await _post(client, api_headers, "/v1/meters", {"name": "API calls", "event_name": "api_call"})


async def test_meter_lifecycle_and_unique_event_name(client, api_headers, meter):
    assert meter["aggregation"] == "count"
    await _post(client, api_headers, "/v1/meters", {"name": "Again", "event_name": "api_call"}, status=409)
    renamed = await client.patch(
        f"/v1/meters/{meter['id']}", json={"unit_name": "calls"}, headers=api_headers
    )
    assert renamed.json()["unit_name"] == "calls"
    assert renamed.json()["event_name"] == "api_call"
    archived = await client.post(f"/v1/meters/{meter['id']}/archive", headers=api_headers)
    assert archived.json()["archived_at"] is not None
    listed = (await client.get("/v1/meters", headers=api_headers)).json()["items"]
    assert meter["id"] not in [m["id"] for m in listed]
    # Archived, the event name is free again.
    await _post(client, api_headers, "/v1/meters", {"name": "New", "event_name": "api_call"})


async def test_product_with_fixed_per_seat_and_metered_prices(client, api_headers, meter, org):
    product = await _post(
        client,
        api_headers,
        "/v1/products",
        {
            "name": "Team",
            "prices": [
                {"kind": "fixed", "interval": "month", "currency": "USD", "amount": 900},
                {
                    "kind": "per_seat",
                    "interval": "year",
                    "currency": "EUR",
                    "seat_amount": 1200,
                    "max_seats": 50,
                },
                {
                    "kind": "metered",
                    "interval": "month",
                    "currency": "JPY",
                    "meters": [{"meter_id": meter["id"], "included_units": 1000, "unit_amount": 5}],
                },
            ],
        },
    )
    kinds = [p["kind"] for p in product["prices"]]
    assert kinds == ["fixed", "per_seat", "metered"]
    metered = product["prices"][2]
    assert metered["meters"][0]["meter_id"] == meter["id"]
    assert metered["meters"][0]["included_units"] == 1000
    assert await PriceMeter.count().where(PriceMeter.org == org.org.id) == 1
    fetched = await client.get(f"/v1/products/{product['id']}", headers=api_headers)
    assert fetched.json() == product


async def test_prices_are_added_and_archived_not_edited(client, api_headers):
    product = await _post(client, api_headers, "/v1/products", {"name": "Solo"})
    price = await _post(
        client,
        api_headers,
        f"/v1/products/{product['id']}/prices",
        {"kind": "fixed", "interval": "month", "currency": "USD", "amount": 500},
    )
    assert (await client.get(f"/v1/prices/{price['id']}", headers=api_headers)).json()["amount"] == 500
    await client.post(f"/v1/prices/{price['id']}/archive", headers=api_headers)
    live = (await client.get(f"/v1/products/{product['id']}", headers=api_headers)).json()["prices"]
    assert live == []


@pytest.mark.parametrize(
    "price",
    [
        {"kind": "fixed", "interval": "month", "currency": "XXQ", "amount": 1},
        {"kind": "metered", "interval": "month", "currency": "USD"},
        {"kind": "fixed", "interval": "month", "currency": "USD", "seat_amount": 5},
        {"kind": "per_seat", "interval": "month", "currency": "USD", "min_seats": 5, "max_seats": 2},
        {"kind": "per_seat", "interval": "one_time", "currency": "USD"},
    ],
)
async def test_invalid_prices_are_refused_and_nothing_is_written(client, api_headers, price):
    await _post(client, api_headers, "/v1/products", {"name": "Broken", "prices": [price]}, status=422)
    assert (await client.get("/v1/products", headers=api_headers)).json()["items"] == []


async def test_price_with_an_unknown_meter_is_404(client, api_headers):
    price = {
        "kind": "metered",
        "interval": "month",
        "currency": "USD",
        "meters": [{"meter_id": "00000000-0000-0000-0000-000000000000"}],
    }
    await _post(client, api_headers, "/v1/products", {"name": "X", "prices": [price]}, status=404)


async def test_product_update_archive_and_benefits(client, api_headers):
    benefit = await _post(
        client,
        api_headers,
        "/v1/benefits",
        {"type": "discord", "description": "Discord", "properties": {"invite_url": "https://discord.gg/x"}},
    )
    product = await _post(
        client, api_headers, "/v1/products", {"name": "Pro", "benefit_ids": [benefit["id"]]}
    )
    assert product["benefit_ids"] == [benefit["id"]]
    updated = await client.patch(
        f"/v1/products/{product['id']}", json={"name": "Pro+", "benefit_ids": []}, headers=api_headers
    )
    assert updated.json()["name"] == "Pro+"
    assert updated.json()["benefit_ids"] == []
    archived = await client.post(f"/v1/products/{product['id']}/archive", headers=api_headers)
    assert archived.json()["archived_at"] is not None
    assert (await client.get("/v1/products", headers=api_headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "discord", "description": "d"}, 422),
        ({"type": "discord", "description": "d", "properties": {"invite_url": "http://discord.gg/x"}}, 422),
        ({"type": "custom", "description": "c"}, 422),
        (
            {
                "type": "custom",
                "description": "c",
                "properties": {"activation_limit": 3, "url": "https://x.io"},
            },
            422,
        ),
        (
            {
                "type": "downloadable",
                "description": "f",
                "properties": {"file_ids": ["00000000-0000-0000-0000-000000000000"]},
            },
            404,
        ),
        (
            {
                "type": "license_key",
                "description": "k",
                "properties": {"prefix": "ACME", "activation_limit": 3},
            },
            201,
        ),
        ({"type": "custom", "description": "c", "properties": {"url": "mailto:help@acme.example"}}, 201),
        ({"type": "custom", "description": "c", "properties": {"url": "mailto:a@b.c?cc=x@y.z"}}, 422),
        ({"type": "custom", "description": "c", "properties": {"url": "mailto:"}}, 422),
        ({"type": "custom", "description": "c", "properties": {"url": "javascript:alert(1)"}}, 422),
    ],
)
async def test_benefit_properties_are_checked_per_type(client, api_headers, body, status):
    await _post(client, api_headers, "/v1/benefits", body, status=status)


async def test_benefit_update_and_archive(client, api_headers):
    benefit = await _post(
        client,
        api_headers,
        "/v1/benefits",
        {"type": "custom", "description": "Onboarding", "properties": {"instructions": "Book a call"}},
    )
    updated = await client.patch(
        f"/v1/benefits/{benefit['id']}", json={"description": "Onboarding call"}, headers=api_headers
    )
    assert updated.json()["description"] == "Onboarding call"
    assert updated.json()["properties"] == {"instructions": "Book a call"}
    await client.post(f"/v1/benefits/{benefit['id']}/archive", headers=api_headers)
    assert (await client.get("/v1/benefits", headers=api_headers)).json()["items"] == []
    assert (await client.get(f"/v1/benefits/{benefit['id']}", headers=api_headers)).status_code == 200


async def test_benefits_stored_under_other_rules_still_read_and_update(client, api_headers):
    """Properties written before the schema changed (an unknown key, a value that no longer fits) are left
    out of what the API returns instead of failing it."""
    benefit = await _post(
        client,
        api_headers,
        "/v1/benefits",
        {"type": "discord", "description": "Community", "properties": {"invite_url": "https://discord.gg/x"}},
    )
    stored = {"invite_url": "https://discord.gg/x", "role": "Customer", "activation_limit": "three"}
    await Benefit.update({Benefit.properties: msgspec.json.encode(stored).decode()}).where(
        Benefit.id == benefit["id"]
    )
    listed = await client.get("/v1/benefits", headers=api_headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"][0]["properties"] == {"invite_url": "https://discord.gg/x"}
    one = await client.get(f"/v1/benefits/{benefit['id']}", headers=api_headers)
    assert one.status_code == 200, one.text
    renamed = await client.patch(
        f"/v1/benefits/{benefit['id']}", json={"description": "Discord"}, headers=api_headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["properties"] == {"invite_url": "https://discord.gg/x"}
    replaced = await client.patch(
        f"/v1/benefits/{benefit['id']}",
        json={"properties": {"invite_url": "https://discord.gg/y"}},
        headers=api_headers,
    )
    assert replaced.json()["properties"] == {"invite_url": "https://discord.gg/y"}


async def test_bodies_are_typed_strictly(client, api_headers):
    coerced = {"name": "M", "event_name": "m1", "visible_in_portal": "false"}
    await _post(client, api_headers, "/v1/meters", coerced, status=400)
    price = {"kind": "fixed", "interval": "month", "currency": "USD", "amount": 500.0}
    product = await _post(client, api_headers, "/v1/products", {"name": "Whole", "prices": [price]})
    assert product["prices"][0]["amount"] == 500
    fractional = {**price, "amount": 500.5}
    await _post(client, api_headers, f"/v1/products/{product['id']}/prices", fractional, status=400)


async def test_a_merchant_validates_the_license_key_a_customer_presents(client, api_headers, org, keyring):
    product = await make_product(org.org.id)
    await make_benefit(org.org.id, product, "license_key", prefix="ACME")
    customer = await make_customer(org.org.id)
    price = await make_price(org.org.id, product)
    subscription = await create_subscription(org.org.id, customer.id, price.id)
    [grant] = await list_grants(org.org.id, customer.id, keyring=keyring)
    assert grant.license_key is not None

    async def validate(key):
        return await client.post("/v1/benefit-grants/validate", json={"key": key}, headers=api_headers)

    valid = await validate(grant.license_key)
    assert valid.status_code == 200, valid.text
    assert valid.json()["id"] == str(grant.id)
    assert valid.json()["customer_id"] == str(customer.id)
    assert valid.json()["type"] == "license_key"
    assert "key" not in valid.json()
    assert (await validate(grant.license_key.lower())).status_code == 404
    assert (await validate("")).status_code == 400

    await cancel_subscription(org.org.id, subscription.id, at_period_end=False)
    revoked = await validate(grant.license_key)
    assert revoked.status_code == 404
    assert revoked.headers["content-type"] == "application/problem+json"
