"""Portal settings over HTTP: defaults, partial updates, and the closed grammar for CSS values and links."""

import pytest


async def test_defaults_and_partial_update(client, api_headers, org):
    initial = (await client.get("/v1/portal-settings", headers=api_headers)).json()
    assert initial["default_token_ttl"] == 3600
    assert initial["allowed_origins"] == ["http://localhost:3000", "https://app.example.com"]
    response = await client.patch(
        "/v1/portal-settings",
        json={
            "branding": {"primary_color": "rgb(15, 118, 110)", "radius": "0.5rem"},
            "sections": {"wallet": False},
            "features": {"cancellation_reasons": ["other"]},
            "allowed_origins": ["https://*.shop.example.com"],
            "welcome_message": "Hello",
        },
        headers=api_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["branding"]["primary_color"] == "rgb(15, 118, 110)"
    assert body["branding"]["text_color"] == initial["branding"]["text_color"]
    assert body["sections"]["wallet"] is False
    assert body["sections"]["orders"] is True
    assert body["features"]["cancellation_reasons"] == ["other"]
    assert body["allowed_origins"] == ["https://*.shop.example.com"]
    assert (await client.get("/v1/portal-settings", headers=api_headers)).json() == body


@pytest.mark.parametrize(
    "patch",
    [
        {"branding": {"primary_color": "red; background: url(x)"}},
        {"branding": {"primary_color": "#12345"}},
        {"branding": {"background_color": "expression(alert(1))"}},
        {"branding": {"radius": "10vh"}},
        {"branding": {"font_family": "Inter}body{display:none"}},
        {"branding": {"font_family": "a\\62 c"}},
        {"branding": {"logo_url": "http://cdn.example.com/logo.png"}},
        {"branding": {"logo_url": "javascript:alert(1)"}},
        {"links": {"terms_url": "ftp://example.com/terms"}},
        {"welcome_message": "x" * 1001},
        {"default_token_ttl": 59},
        {"default_token_ttl": 86_401},
        {"default_locale": "it"},
        {"default_locale": "xx-YY"},
        {"allowed_origins": ["*"]},
        {"allowed_origins": ["http://shop.example.com"]},
        {"allowed_origins": ["http://[::1]:3000"]},
        {"features": {"plan_switches": {"not-a-uuid": []}}},
        {"features": {"plan_switches": {"00000000-0000-0000-0000-000000000000": []}}},
    ],
)
async def test_values_outside_the_grammar_are_refused_and_nothing_changes(client, api_headers, patch):
    before = (await client.get("/v1/portal-settings", headers=api_headers)).json()
    response = await client.patch("/v1/portal-settings", json=patch, headers=api_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/portal-settings", headers=api_headers)).json() == before


async def test_allowed_origins_are_stored_as_browsers_report_them(client, api_headers):
    response = await client.patch(
        "/v1/portal-settings",
        json={"allowed_origins": ["HTTPS://Shop.Example.com:443/", "http://localhost:3000"]},
        headers=api_headers,
    )
    assert response.json()["allowed_origins"] == ["http://localhost:3000", "https://shop.example.com"]
    ipv6 = await client.patch(
        "/v1/portal-settings", json={"allowed_origins": ["http://[::1]:3000"]}, headers=api_headers
    )
    assert "IPv6" in ipv6.json()["detail"]
    assert "http://localhost:3000" in ipv6.json()["detail"]


@pytest.mark.parametrize(
    "branding",
    [
        {"primary_color": "#abc"},
        {"primary_color": "hsl(243, 75%, 59%)"},
        {"text_color": "rgb(0 0 0 / 50%)"},
        {"radius": "0"},
        {"font_family": "'Inter', system-ui, sans-serif"},
        {"logo_url": "http://localhost:8001/logo.svg"},
    ],
)
async def test_values_inside_the_grammar_are_accepted(client, api_headers, branding):
    response = await client.patch("/v1/portal-settings", json={"branding": branding}, headers=api_headers)
    assert response.status_code == 200, response.text


async def test_unknown_fields_are_refused(client, api_headers):
    response = await client.patch(
        "/v1/portal-settings", json={"sections": {"admin": True}}, headers=api_headers
    )
    assert response.status_code == 400


async def test_plan_switches_between_own_products(client, api_headers):
    a = (await client.post("/v1/products", json={"name": "A"}, headers=api_headers)).json()["id"]
    b = (await client.post("/v1/products", json={"name": "B"}, headers=api_headers)).json()["id"]
    response = await client.patch(
        "/v1/portal-settings", json={"features": {"plan_switches": {a: [b]}}}, headers=api_headers
    )
    assert response.status_code == 200
    assert response.json()["features"]["plan_switches"] == {a: [b]}
