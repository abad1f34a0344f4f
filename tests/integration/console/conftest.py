"""Fixtures for the merchant console: staff of each role on the test's own merchant, signed in the way the
emailed link does it (the link's secret posted to ``/console/session``), and a client that keeps the
console cookie and sends the page's CSRF token with its forms."""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie

import httpx
import pytest

from server.app import create_app
from server.console.auth import issue_link
from server.console.staff import add_staff
from server.enums import StaffRole
from tests.integration.hosted.conftest import frozen, inbox, smtp_context, smtp_port  # noqa: F401 (fixtures)

COOKIE = "ss_console"
FLASH = "ss_console_flash"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"/console/login\?org=([\w-]+)#token=(ml_[\w-]+)")


def cookie_from(response: httpx.Response, name: str = COOKIE) -> str:
    jar = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    assert name in jar, response.headers
    return jar[name].value


async def open_link(client: httpx.AsyncClient, link: str) -> httpx.Response:
    """What the sign-in page's script does with an emailed link: post the fragment's secret."""
    found = LINK.search(link)
    assert found, link
    return await client.post("/console/session", data={"org": found.group(1), "token": found.group(2)})


@dataclass
class Console:
    """A signed-in staff member's browser: the console cookie and the CSRF token of the last page."""

    client: httpx.AsyncClient
    email: str
    member_id: uuid.UUID
    cookie: str
    csrf: str = ""
    sent: httpx.Response | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"cookie": f"{COOKIE}={self.cookie}"}

    async def get(self, path: str, **kwargs) -> httpx.Response:
        response = await self.client.get(path, headers=kwargs.pop("headers", self.headers), **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **kwargs):
        """A form post as the page sends it (with its CSRF token unless ``csrf`` is False). A form that
        worked answers 303 with a flash cookie: that is followed as a browser does, so the answer is the
        page it leads to (``sent`` keeps the 303 itself)."""
        if not self.csrf:
            await self.get("/console")
        form = {**(data or {}), **({"csrf_token": self.csrf} if csrf else {})}
        sent = await self.client.post(path, data=form, headers={**self.headers, **kwargs.pop("headers", {})})
        self.sent = sent
        if sent.status_code != 303 or FLASH not in sent.headers.get("set-cookie", ""):
            return sent
        flash = cookie_from(sent, FLASH)
        return await self.get(
            sent.headers["location"], headers={"cookie": f"{COOKIE}={self.cookie}; {FLASH}={flash}"}
        )


@pytest.fixture
def app(settings, engine):
    """The app as in development: webhook receivers and OpenID providers on this machine allowed (the
    console tests use them)."""
    return create_app(
        dataclasses.replace(settings, allow_local_webhooks=True, allow_local_oauth=True), engine=engine
    )


@pytest.fixture
def staff_as(client, org, settings):
    """``await staff_as(role)``: a new staff member of ``org`` with ``role``, signed in."""

    async def _staff_as(role: StaffRole, email: str | None = None) -> Console:
        address = email or f"{role.value}-{uuid.uuid4().hex[:8]}@team.example"
        member = await add_staff(org.org.id, address, role)
        response = await open_link(client, await issue_link(org.org, address, settings.public_url))
        assert response.status_code == 303, response.text
        return Console(client, address, member.id, cookie_from(response))

    return _staff_as
