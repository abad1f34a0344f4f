"""Helpers the browser tests share: open a portal on a host page, find its frame, wait for its events; sign
in to the hosted portal by the emailed link as a person does; read the webhooks the merchant received,
verified with the public ``standardwebhooks`` package."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import subprocess
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx

from server import i18n
from server.demo.data import PEOPLE
from tests.browser.conftest import HostSite, Stack

ADA = "ada@analytical-engines.example"
VIEWS = ("overview", "subscriptions", "orders", "usage", "wallet", "settings")
SETTLE_SECONDS = 10.0
LINK = re.compile(r"https?://\S+/portal/[\w-]+#token=[\w-]+")


def said_in(locale: str) -> Callable[..., str]:
    """What the portal says in ``locale`` (negotiated by ``server.i18n`` as the portal does)."""
    chosen = i18n.negotiate(locale)

    def said(message: str, **variables: object) -> str:
        with i18n.use_locale(chosen):
            return i18n.gettext(message, **variables)

    return said


def said_to(email: str) -> Callable[..., str]:
    """What the portal says to the demo customer ``email``: in the language the demo stores for them."""
    return said_in(next(person.locale for person in PEOPLE if person.email == email))


def mount_script(
    email: str, *, view: str = "overview", name: str = "a", target: str = "#billing", **extra: Any
) -> str:
    """JS that mounts one portal with a fetchToken for ``email`` and records its events under ``name``."""
    options = {"view": view, **extra}
    given = "".join(f", {key}: {json.dumps(value)}" for key, value in options.items())
    return (
        f"window.portals = window.portals || {{}};\n"
        f"window.portals[{json.dumps(name)}] = SelfServe.mount({json.dumps(target)}, {{ "
        f"fetchToken: fetchTokenFor({json.dumps(email)}), onEvent: record({json.dumps(name)}){given} }});"
    )


async def wait_event(page: Any, type_: str, name: str = "a", count: int = 1) -> list[dict[str, Any]]:
    """The recorded events of ``type_`` once there are ``count`` of them."""
    # a function, not an expression string: the host page's CSP forbids eval
    await page.wait_for_function(
        "([n, t, c]) => events.filter((e) => e.name === n && e.type === t).length >= c",
        arg=[name, type_, count],
        timeout=SETTLE_SECONDS * 1000,
    )
    found: list[dict[str, Any]] = await page.evaluate(
        "([n, t]) => events.filter((e) => e.name === n && e.type === t)", [name, type_]
    )
    return found


async def frame_of(page: Any, selector: str = "#billing iframe") -> Any:
    handle = await page.wait_for_selector(selector, state="attached")
    return await handle.content_frame()


async def settled_height(page: Any, frame: Any, selector: str = "#billing iframe") -> tuple[float, float]:
    """(iframe height on the host page, content height inside the frame) once they agree, or the last seen."""
    outer = inner = -1.0
    for _ in range(int(SETTLE_SECONDS / 0.1)):
        inner = await frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
        outer = await page.evaluate(
            f"document.querySelector({json.dumps(selector)}).getBoundingClientRect().height"
        )
        if inner == outer:
            break
        await asyncio.sleep(0.1)
    return outer, inner


async def open_portal(page: Any, host: HostSite, email: str = ADA, **options: Any) -> Any:
    """A host page with one mounted portal, ready; returns the portal's frame."""
    await page.goto(host.page(mount_script(email, **options)))
    await wait_event(page, "ready")
    return await frame_of(page)


def merchant_api(stack: Stack) -> httpx.AsyncClient:
    """The merchant's backend calling the API with its secret key (never a step of the person's journey)."""
    return httpx.AsyncClient(
        base_url=stack.portal_url, headers={"Authorization": f"Bearer {stack.api_key}"}, timeout=10
    )


async def emails_to(stack: Stack, address: str, count: int = 1) -> list[EmailMessage]:
    """The messages the SMTP server received for ``address``, once there are ``count`` of them."""
    assert stack.mail is not None
    for _ in range(int(SETTLE_SECONDS / 0.05)):
        received = stack.mail.received_by(address)
        if len(received) >= count:
            return received
        await asyncio.sleep(0.05)
    raise AssertionError(f"{address} got {len(stack.mail.received_by(address))} emails, expected {count}")


CONSOLE_LINK = re.compile(r"https?://\S+/console/login\?org=[\w-]+#token=[\w-]+")
DEMO_OWNER = "owner@acme.example"


def link_in(message: EmailMessage, pattern: re.Pattern[str] = LINK) -> str:
    """The link ``pattern`` finds (a portal link, ``/portal/{slug}#token=...``) in an email's plain text."""
    body = message.get_body(("plain",))
    assert body is not None, message
    found = pattern.search(body.get_content())
    assert found, body.get_content()
    return found.group(0)


async def emailed_sign_in(
    page: Any, stack: Stack, start: str, email: str, link: re.Pattern[str], sign_out: str = "Sign out"
) -> None:
    """Open ``start`` (a sign-in page), ask for a link for ``email``, open the link the email brings, see
    the ``sign_out`` button (its name in the language the signed-in page speaks)."""
    assert stack.mail is not None
    before = len(stack.mail.received_by(email))
    await page.goto(stack.portal_url + start)
    await page.get_by_label("Email address").fill(email)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    received = await emails_to(stack, email, before + 1)
    await page.goto(link_in(received[-1], link))
    await page.get_by_role("button", name=sign_out).wait_for()


async def sign_in_hosted(page: Any, stack: Stack, email: str) -> None:
    """What a person does: open the hosted portal, ask for a link, open it from the email, see the portal."""
    await emailed_sign_in(page, stack, f"/portal/{stack.slug}", email, LINK)
    await page.get_by_role("heading", level=1, name="Overview").wait_for()


async def sign_in_console(page: Any, stack: Stack, email: str = DEMO_OWNER) -> None:
    """What a staff member does: ask for a console link, open it from the email, land on the console."""
    await emailed_sign_in(page, stack, "/console", email, CONSOLE_LINK)


def database_dump(stack: Stack) -> str:
    """All the stack's database holds, as SQL: SQLite's dump, or ``pg_dump``'s data."""
    if stack.database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(stack.database_url.removeprefix("sqlite:///"))) as db:
            return "\n".join(db.iterdump())
    dumped = subprocess.run(
        ["pg_dump", "--data-only", stack.database_url], check=True, capture_output=True, text=True
    )
    return dumped.stdout


async def webhook_events(
    stack: Stack,
    type_: str,
    match: Callable[[dict[str, Any]], bool] = lambda data: True,
    count: int = 1,
) -> list[dict[str, Any]]:
    """Verified payloads of ``type_`` whose ``data`` passes ``match``, once ``count`` arrived at the host
    site's ``/webhook`` (which checks each delivery with ``standardwebhooks`` and refuses a bad one)."""
    assert stack.host is not None
    found: list[dict[str, Any]] = []
    for _ in range(int(SETTLE_SECONDS / 0.05)):
        found = [p for p in list(stack.host.webhooks) if p["type"] == type_ and match(p["data"])]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"{len(found)} verified {type_} webhooks arrived, expected {count}; refused: "
        f"{stack.host.refused_webhooks}; deliveries not yet received: {await _undelivered(stack)}"
    )


async def _undelivered(stack: Stack) -> list[dict[str, Any]]:
    """The delivery log's rows that have not succeeded, with their errors (says why a webhook is late)."""
    async with httpx.AsyncClient(base_url=stack.portal_url, timeout=10) as http:
        response = await http.get(
            "/v1/webhook-deliveries",
            params={"limit": 100, "status": "pending"},
            headers={"authorization": f"Bearer {stack.api_key}"},
        )
    fields = ("event_type", "attempts", "last_status_code", "last_error")
    return [{k: d.get(k) for k in fields} for d in response.json().get("items", [])]
