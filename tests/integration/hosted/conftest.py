"""Fixtures for the hosted portal: a customer, a real SMTP server, and helpers that sign in the way a
browser does (ask for a link, read the email, post the fragment's token, keep the cookie)."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from http.cookies import Morsel, SimpleCookie

import pytest

from server import clock
from server.clock import FrozenClock, use_clock
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.worker import JobContext
from tests.integration.mail.support import Inbox, drain, free_port, start_smtp

COOKIE = "ss_session"
LINK = re.compile(r"(https?://\S+/portal/[\w-]+)#token=(ml_[\w-]+)")


@pytest.fixture
async def customer(org):
    return await create_customer(
        org.org.id,
        CustomerCreate(email=f"ada-{uuid.uuid4().hex[:8]}@example.com", name="Ada Lovelace"),
    )


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port) -> Iterator[Inbox]:
    controller, inbox = start_smtp(smtp_port)
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_context(settings, keyring, smtp_port) -> JobContext:
    return JobContext(dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp_port}"), keyring)


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    with use_clock(FrozenClock(clock.now())) as frozen_clock:
        assert isinstance(frozen_clock, FrozenClock)
        yield frozen_clock


def session_cookie(response) -> Morsel:
    """The session cookie a response sets, parsed (attributes included)."""
    jar = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    assert COOKIE in jar, response.headers
    return jar[COOKIE]


def cookie_header(secret: str) -> dict[str, str]:
    return {"cookie": f"{COOKIE}={secret}"}


async def request_link(client, org, email: str, **kwargs):
    return await client.post(f"/portal/{org.org.slug}/login", data={"email": email}, **kwargs)


async def emailed_token(inbox: Inbox, smtp_context: JobContext, address: str) -> tuple[str, str]:
    """(page URL, token) of the newest sign-in link sent to ``address``."""
    await drain(smtp_context)
    messages = inbox.received_by(address)
    assert messages, f"no email for {address}"
    match = LINK.search(messages[-1].get_body(("plain",)).get_content())
    assert match, messages[-1]
    return match.group(1), match.group(2)


async def open_token(client, org, token: str, headers: dict[str, str] | None = None):
    return await client.post(f"/portal/{org.org.slug}/session", data={"token": token}, headers=headers)


@pytest.fixture
def sign_in(client, org, inbox, smtp_context):
    """Sign ``customer`` in through a real email; returns the session cookie's value."""

    async def _sign_in(customer, headers: dict[str, str] | None = None) -> str:
        assert (await request_link(client, org, customer.email)).status_code == 202
        _url, token = await emailed_token(inbox, smtp_context, customer.email)
        response = await open_token(client, org, token, headers)
        assert response.status_code == 303, response.text
        return session_cookie(response).value

    return _sign_in


def csrf_of(page_html: str) -> str:
    match = re.search(r'data-csrf="([^"]+)"', page_html)
    assert match, page_html
    return match.group(1)
