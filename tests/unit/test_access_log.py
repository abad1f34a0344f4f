"""Credentials in request targets are redacted wherever the server logs a path."""

import logging

import pytest
from litestar import Request

from server.access_log import redact_target
from server.problems import unexpected_error_handler


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/embed/documents/eyJh.c2ln", "/embed/documents/[redacted]"),
        ("/embed/documents/invoice/5f0c", "/embed/documents/invoice/5f0c"),
        ("/health?token=abc&view=orders", "/health?token=[redacted]&view=orders"),
        ("/x?Secret=1&api_key=2&code=3", "/x?Secret=[redacted]&api_key=[redacted]&code=[redacted]"),
        ("/v1/customers?limit=10&cursor=abc", "/v1/customers?limit=10&cursor=abc"),
        ("/portal/acme", "/portal/acme"),
    ],
)
def test_redact_target(target, logged):
    assert redact_target(target) == logged


def test_an_unexpected_error_names_a_download_path_redacted(caplog):
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/embed/documents/eyJh.c2ln",
        "query_string": b"",
        "headers": [],
        "app": None,
    }
    with caplog.at_level(logging.ERROR, logger="selfserve"):
        response = unexpected_error_handler(Request(scope), RuntimeError("boom"))  # type: ignore[arg-type]
    assert response.status_code == 500
    assert "/embed/documents/[redacted]" in caplog.text
    assert "eyJh.c2ln" not in caplog.text
