"""The app's outer shell: health, OpenAPI, static files, problem+json, body limits, security headers."""


async def test_health_checks_the_database(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_home_page_renders_a_template(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "selfserve 0.1.0" in response.text
    assert 'href="/schema"' in response.text


async def test_openapi_document_is_served(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "selfserve"
    assert "/health" in document["paths"]


async def test_loader_is_served(client):
    response = await client.get("/static/loader.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "SelfServe" in response.text


async def test_unknown_route_is_problem_json(client):
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == 404


async def test_missing_api_key_is_problem_json(client):
    response = await client.get("/v1/organization")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "Authorization: Bearer" in response.json()["detail"]


async def test_default_security_headers(client):
    response = await client.get("/health")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
