"""Real-browser fixtures: the portal server and demo merchant app (tests/browser/stack.py, its own process),
a merchant "host page" server on ANOTHER origin (http://localhost:PORT, while the portal is on 127.0.0.1),
a real SMTP server (aiosmtpd) the portal sends its mail to, and one headless Debian Chromium for the whole
session (never a downloaded browser).

The host server also mints portal tokens as a merchant backend does offline (embed signing secret), counts
those fetchToken calls, and receives the webhooks of the endpoint the stack registers for every event type
(``tests/browser/support.py`` verifies them). It starts with the stack, so no delivery finds it missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from server.auth.tokens import mint_portal_token
from tests.conftest import _unavailable, fresh_database
from tests.integration.mail.support import Inbox, start_smtp
from tests.integration.oauth.support import GitHubStandIn
from tests.localstripe_server import LocalStripe

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STARTUP_SECONDS = 60
REPO = Path(__file__).resolve().parents[2]
HOST_CSS = (
    "main { max-width: 60rem; margin: 0 auto; padding: 0 16px; font-family: system-ui, sans-serif; }"
    " .tall { height: 3000px; }"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    portal_url: str
    merchant_url: str
    database_url: str
    server_log: str
    """What the portal server and the merchant app logged (access log included), for a test to scan."""
    org_id: str
    slug: str
    api_key: str
    embed_secret: str
    customers: dict[str, str]
    webhook_secret: str
    """Signing secret of the endpoint that sends every event to the host site's ``/webhook``."""
    host: HostSite | None = field(default=None, repr=False)
    """The merchant's site, started with the stack (the ``host`` fixture)."""
    mail: Inbox | None = field(default=None, repr=False)
    """What the stack's SMTP server received (the ``mail`` fixture)."""
    github: GitHubStandIn | None = field(default=None, repr=False)
    """The stand-in for GitHub's sign-in endpoints the stack's settings point at."""
    stripe: LocalStripe | None = field(default=None, repr=False)
    """localstripe, which the stack's Stripe settings point at (used once a test connects Stripe)."""

    def token(self, email: str, **claims: Any) -> str:
        """A portal token for one demo customer, minted like a merchant backend does offline."""
        return mint_portal_token(
            org_id=self.org_id, customer_id=self.customers[email], secret=self.embed_secret, **claims
        )


@dataclass
class HostSite:
    """The merchant's pages. ``page()`` registers one; ``allowed`` is an origin the org lets embed the
    portal, ``refused`` (same server, other host name) one it does not."""

    stack: Stack
    port: int
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)
    token_calls: list[str] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    """The payloads ``/webhook`` received, each verified with ``standardwebhooks`` as it arrived."""
    refused_webhooks: list[str] = field(default_factory=list)
    """Why ``/webhook`` refused a delivery (answered 400): a bad signature or a stale timestamp."""
    receivers: dict[str, list[tuple[dict[str, str], bytes]]] = field(default_factory=dict)
    """More webhook receivers, ``/receiver/<name>``, with what each got; a name in ``down`` answers 503."""
    down: set[str] = field(default_factory=set)

    @property
    def allowed(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def refused(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page(self, script: str, *, body: str = "", origin: str | None = None, csp: str | None = None) -> str:
        """A strict-CSP host page (nonce scripts, ``style-src 'self'``) that loads the loader from the portal
        and runs ``script``; helpers on the page: ``fetchTokenFor(email)``, ``record(name)``, ``events``."""
        nonce = secrets.token_urlsafe(12)
        portal = self.stack.portal_url
        policy = csp or (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; frame-src {portal}; "
            "connect-src 'self'; base-uri 'none'; object-src 'none'"
        )
        html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Host page</title>
<link rel="stylesheet" href="/host.css"></head>
<body><main><h1>Account</h1><div id="billing"></div>{body}</main>
<script nonce="{nonce}">
window.events = []; window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective));
function fetchTokenFor(email) {{
  return () => fetch("/token?email=" + encodeURIComponent(email), {{ method: "POST" }}).then((r) => r.text());
}}
function record(name) {{ return (type, detail) => events.push({{ name, type, detail }}); }}
</script>
<script nonce="{nonce}" src="{portal}/static/loader.js"></script>
<script nonce="{nonce}">{script}</script>
</body></html>"""
        path = f"/page/{secrets.token_hex(6)}"
        self.pages[path] = (html, policy)
        return (origin or self.allowed) + path


class HostServer(ThreadingHTTPServer):
    """The host site's server, with a listen backlog deep enough for the webhook worker's concurrent sends
    and the browser's requests at once (the default of 5 let a send fail under load; its retry came a
    minute later)."""

    request_queue_size = 128


def _handler(site: HostSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/host.css":
                self._send(200, HOST_CSS.encode(), "text/css")
            elif path in site.pages:
                html, policy = site.pages[path]
                self._send(
                    200, html.encode(), "text/html; charset=utf-8", {"content-security-policy": policy}
                )
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if parts.path == "/token":
                email = parse_qs(parts.query)["email"][0]
                site.token_calls.append(email)
                self._send(200, site.stack.token(email).encode(), "text/plain")
            elif parts.path == "/webhook":
                headers = {k.lower(): v for k, v in self.headers.items()}
                # as a merchant's endpoint does: verified on arrival, the timestamp against its own clock
                try:
                    site.webhooks.append(Webhook(site.stack.webhook_secret).verify(body, headers))
                except WebhookVerificationError as refused:
                    site.refused_webhooks.append(str(refused))
                    self._send(400, b"refused", "text/plain")
                    return
                self._send(204, b"", "text/plain")
            elif parts.path.startswith("/receiver/"):
                name = parts.path.removeprefix("/receiver/")
                if name in site.down:
                    self._send(503, b"down", "text/plain")
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                site.receivers.setdefault(name, []).append((headers, body))
                self._send(204, b"", "text/plain")
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


@pytest.fixture(scope="session")
def mail_port() -> int:
    return _free_port()


@pytest.fixture(scope="session")
def mail(mail_port: int) -> Iterator[Inbox]:
    """The SMTP server the portal sends to: every message it received, for the tests to read."""
    controller, inbox = start_smtp(mail_port)
    yield inbox
    controller.stop()


@contextlib.asynccontextmanager
async def running_stack(db_kind: str, data_dir: Path, mail: Inbox, mail_port: int) -> AsyncIterator[Stack]:
    """tests/browser/stack.py on a fresh ``db_kind`` database, sending mail to ``mail_port``, with the host
    site it lets embed the portal (and sends webhooks to), up and answering, until the block ends."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt install chromium)")
    async with fresh_database(db_kind, data_dir) as database_url:
        portal_port, merchant_port, host_port = _free_port(), _free_port(), _free_port()
        command = [sys.executable, "-m", "tests.browser.stack", str(data_dir), database_url]
        command += [str(portal_port), str(merchant_port), f"smtp://127.0.0.1:{mail_port}"]
        command += [f"http://127.0.0.1:{host_port}/webhook", f"http://localhost:{host_port}"]
        github = GitHubStandIn().start()
        stripe = LocalStripe.start()
        environment = {
            **os.environ,
            "SELFSERVE_GITHUB_OAUTH_BASE": github.url,
            "SELFSERVE_GITHUB_API_BASE": github.url,
            "SELFSERVE_STRIPE_API_BASE": stripe.url,
            "SELFSERVE_STRIPE_JS_URL": stripe.js_url,
        }
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=environment)
        server: HostServer | None = None
        try:
            assert process.stdout is not None
            info = json.loads(process.stdout.readline() or "{}")
            assert info, "the browser stack did not start (see its stderr above)"
            started = Stack(**info, mail=mail, github=github, stripe=stripe)
            started.host = HostSite(stack=started, port=host_port)
            server = HostServer(("127.0.0.1", host_port), _handler(started.host))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            deadline = time.monotonic() + STARTUP_SECONDS
            async with httpx.AsyncClient(timeout=2) as http:
                for url in (started.portal_url, started.merchant_url):
                    while True:
                        try:
                            if (await http.get(f"{url}/health")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        assert time.monotonic() < deadline, f"{url} did not come up"
                        await asyncio.sleep(0.1)
            yield started
        finally:
            process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
            if server is not None:
                server.shutdown()
                server.server_close()
            github.stop()
            stripe.stop()


@pytest.fixture(scope="session")
def stacks(
    db_kind: str, tmp_path_factory: pytest.TempPathFactory, mail: Inbox, mail_port: int
) -> Callable[[str], contextlib.AbstractAsyncContextManager[Stack]]:
    """Starts a stack of its own on the database ``--db`` names: ``async with stacks(name) as stack``."""
    return lambda name: running_stack(db_kind, tmp_path_factory.mktemp(name), mail, mail_port)


@pytest.fixture(scope="session")
async def stack(
    stacks: Callable[[str], contextlib.AbstractAsyncContextManager[Stack]],
) -> AsyncIterator[Stack]:
    """The stack the session's browser tests share."""
    async with stacks("browser-stack") as shared:
        yield shared


@pytest.fixture(scope="session")
def host(stack: Stack) -> HostSite:
    assert stack.host is not None
    return stack.host


@pytest.fixture(scope="session")
async def browser(stack: Stack) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1024, "height": 800})
    page = await context.new_page()
    yield page
    await context.close()
