"""Fixtures for sign-in through providers: the GitHub stand-in (``support.py``; oidc-provider-mock is the
session's ``openid_provider`` in tests/conftest.py), an app whose settings let it reach them on this
machine, and ``Browser``: an HTTP client that follows a flow the way a browser does, across the portal and
the provider, keeping cookies."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar

from server.app import create_app
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.settings import Settings
from tests.integration.oauth.support import GitHubStandIn

PORTAL = "http://127.0.0.1:8000"


@pytest.fixture(scope="session")
def github() -> Iterator[GitHubStandIn]:
    stand_in = GitHubStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="session")
def oauth_settings(settings: Settings, github: GitHubStandIn) -> Settings:
    return dataclasses.replace(
        settings, allow_local_oauth=True, github_oauth_base=github.url, github_api_base=github.url
    )


@pytest.fixture
def oauth_app(oauth_settings: Settings, engine: Any) -> Litestar:
    return create_app(oauth_settings, engine=engine)


@pytest.fixture
async def api(oauth_app: Litestar, api_headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=oauth_app), base_url=PORTAL, headers=api_headers
    ) as http:
        yield http


class Browser:
    """Follows redirects across the portal (in process) and the providers (real HTTP), keeping each
    site's cookies by name as a browser would (paths and ``Secure`` aside: everything here is one
    machine). ``history`` is every URL it was sent to."""

    def __init__(self, portal: httpx.AsyncClient, outside: httpx.AsyncClient) -> None:
        self.portal, self.outside = portal, outside
        self.cookies: dict[str, dict[str, str]] = {}
        self.history: list[str] = []

    def _client(self, url: str) -> httpx.AsyncClient:
        return self.portal if url.startswith(PORTAL) or url.startswith("/") else self.outside

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, without following redirects."""
        if url.startswith("/"):
            url = PORTAL + url
        self.history.append(url)
        host = urlsplit(url).netloc
        jar = self.cookies.setdefault(host, {})
        headers = {**kwargs.pop("headers", {})}
        if jar:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        response = await self._client(url).request(method, url, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0":
                    jar.pop(name, None)
                else:
                    jar[name] = morsel.value
        return response

    async def go(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request and every redirect after it, as a navigation."""
        response = await self.request(method, url, **kwargs)
        while response.status_code in {302, 303}:
            location = response.headers["location"]
            if location.startswith("/"):
                location = (
                    f"{urlsplit(str(response.url)).scheme}://{urlsplit(str(response.url)).netloc}{location}"
                )
            response = await self.request("GET", location)
        return response


@pytest.fixture
async def browser(oauth_app: Litestar) -> AsyncIterator[Browser]:
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=oauth_app), base_url=PORTAL) as portal,
        httpx.AsyncClient(timeout=10) as outside,
    ):
        yield Browser(portal, outside)


@pytest.fixture
async def customer(org: Any) -> Any:
    return await create_customer(
        org.org.id, CustomerCreate(email=f"ada-{uuid.uuid4().hex[:8]}@example.com", name="Ada Lovelace")
    )
