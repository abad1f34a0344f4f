"""The access log of a real ``selfserve serve``: download links and secrets in query strings are logged
redacted, everything else as it was requested."""

from __future__ import annotations

import time
import uuid

import httpx

from server.portal.documents import document_link
from server.security.keyring import Keyring
from tests.conftest import TEST_SECRET
from tests.integration.test_multiprocess import _serve


def _logged(log, needle: str) -> str:
    """The server's log once it mentions ``needle`` (uvicorn writes a request's line after answering it)."""
    deadline = time.monotonic() + 10
    while needle not in (text := log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return text


async def test_serve_logs_download_links_and_query_secrets_redacted(database_url, org, tmp_path):
    link = document_link(Keyring((TEST_SECRET,)), org.org.id, uuid.uuid4(), uuid.uuid4(), "invoice")
    secret = link.rsplit("/", 1)[1]
    ask = f"/embed/documents/receipt/{uuid.uuid4()}"
    with _serve([], {"SELFSERVE_DATABASE_URL": database_url}, tmp_path) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.get(link)).status_code == 404  # genuine, for an order that is not there
            assert (await http.get("/health", params={"token": "s3cr3t-value", "view": "orders"})).is_success
            assert (await http.post(ask)).status_code == 401
        log = _logged(tmp_path / "server.log", ask)
    assert secret not in log
    assert "s3cr3t-value" not in log
    assert '"GET /embed/documents/[redacted] HTTP/1.1" 404' in log
    assert '"GET /health?token=[redacted]&view=orders HTTP/1.1" 200' in log
    assert f'"POST {ask} HTTP/1.1" 401' in log  # a path that only asks for a link is no secret
