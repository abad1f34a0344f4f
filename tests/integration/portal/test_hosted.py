"""The hosted page: first-party, never framed, opened from customer_portal_url's fragment token."""

import re


async def test_hosted_page_is_first_party_and_not_framable(client, org):
    response = await client.get(f"/portal/{org.org.slug}")
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'nonce="{nonce}"' in response.text
    assert 'data-hosted="1"' in response.text
    assert f"{org.org.name} billing" in response.text
    assert 'data-origin="http://127.0.0.1:8000"' in response.text


async def test_unknown_org_gets_a_friendly_404(client):
    response = await client.get("/portal/no-such-shop")
    assert response.status_code == 404
    assert "Billing portal not found" in response.text


async def test_customer_portal_url_token_opens_a_first_party_session(client, org, customer, api_headers):
    created = await client.post(
        "/v1/customer-sessions", json={"customer_id": str(customer.id)}, headers=api_headers
    )
    assert created.status_code == 201, created.text
    url = created.json()["customer_portal_url"]
    assert url.startswith(f"http://127.0.0.1:8000/portal/{org.org.slug}#token=")
    token = url.split("#token=", 1)[1]
    session = await client.post("/embed/session", json={"token": token, "origin": "http://127.0.0.1:8000"})
    assert session.status_code == 201
    page = await client.get(
        "/embed/views/overview", headers={"Authorization": f"Bearer {session.json()['session']}"}
    )
    assert page.status_code == 200
    assert "Hello Ada Lovelace!" in page.text


async def test_the_first_party_origin_is_not_a_wildcard_for_other_origins(client, mint):
    response = await client.post("/embed/session", json={"token": mint(), "origin": "http://127.0.0.1:8001"})
    assert response.status_code == 403
