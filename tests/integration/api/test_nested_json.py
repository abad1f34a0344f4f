"""Deeply nested JSON is a 400 problem+json on every route that takes a body, never a RecursionError's 500."""

import re
import uuid

import pytest
from litestar.routes import HTTPRoute

WRITES = {"POST", "PUT", "PATCH"}
NESTED = {
    "objects-600": b'{"a":' * 600 + b"1" + b"}" * 600,
    "lists-600": b"[" * 600 + b"]" * 600,
    "lists-100000": b"[" * 100_000 + b"]" * 100_000,
}


def _write_requests(app):
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method in sorted(route.methods & WRITES):
                path = re.sub(
                    r"\{(\w+):(\w+)\}",
                    lambda m: str(uuid.uuid4()) if m.group(2) == "uuid" else "x",
                    route.path,
                )
                yield method, path


@pytest.mark.parametrize("path", ["/embed/session", "/v1/events", "/v1/customers", "/v1/customer-sessions"])
@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
async def test_nested_body_is_a_400_problem(client, api_headers, path, body):
    response = await client.post(
        path, content=body, headers={**api_headers, "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "the request body is nested too deeply"


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
async def test_no_route_answers_nested_json_with_a_server_error(client, app, api_headers, body):
    seen = 0
    for method, path in _write_requests(app):
        response = await client.request(
            method, path, content=body, headers={**api_headers, "content-type": "application/json"}
        )
        assert response.status_code < 500, (method, path, response.text)
        seen += 1
    assert seen >= 30
