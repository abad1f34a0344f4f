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


BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_a_browser_gets_an_error_page_in_its_language(client):
    english = await client.get("/no/such/page", headers=BROWSER)
    assert english.status_code == 404
    assert english.headers["content-type"].startswith("text/html")
    assert '<html lang="en" dir="ltr">' in english.text
    assert "This page does not exist" in english.text
    assert '<link rel="stylesheet" href="/static/site.css">' in english.text
    assert "problem" not in english.text
    german = await client.get("/no/such/page", headers={**BROWSER, "accept-language": "de-DE,de;q=0.9"})
    assert german.status_code == 404
    assert '<html lang="de-DE" dir="ltr">' in german.text
    assert "Diese Seite gibt es nicht" in german.text
    refused = await client.post("/portal/acme/session", data={"token": "x"}, headers=BROWSER)
    assert refused.status_code in (400, 403, 404)
    assert refused.headers["content-type"].startswith("text/html")
    assert "<h1>" in refused.text


async def test_the_api_keeps_problem_json_whatever_the_client_accepts(client):
    for headers in (BROWSER, {"accept": "application/json"}, {}):
        response = await client.get("/v1/organization", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    page = await client.get("/no/such/page", headers={"accept": "application/json"})
    assert page.headers["content-type"] == "application/problem+json"


async def test_default_security_headers(client):
    response = await client.get("/health")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
