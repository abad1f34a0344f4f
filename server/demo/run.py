"""``selfserve demo``: migrate, seed Acme once, then serve the portal server and the demo merchant app from
one process (two uvicorn servers on one event loop)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import msgspec
import uvicorn
from litestar import Litestar

from server.app import create_app
from server.console.auth import issue_link
from server.db.engine import bind_tables, close_engine, engine_from_url, open_engine
from server.db.migrate import migrate
from server.db.tables import Organization
from server.demo.merchant import MerchantConfig, create_merchant_app
from server.demo.seed import DEMO_OWNER, DEMO_SLUG, seed_demo
from server.organizations.service import create_api_key, get_organization_by_slug, normalize_origins
from server.security.keyring import Keyring
from server.settings import Settings

HOST = "127.0.0.1"
STARTUP_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class DemoMerchant:
    org: Organization
    api_key: str
    """A secret key made for this run: keys are stored only hashed, so an old one cannot be shown again."""
    seeded: bool
    console_link: str
    """A single-use sign-in link to the console for the demo owner, made for this run."""


async def prepare_demo(keyring: Keyring, merchant_origin: str, public_url: str) -> DemoMerchant:
    """The demo org (seeded on the first run), a fresh API key, ``merchant_origin`` allowed to embed, and a
    console sign-in link for the demo owner."""
    created = await seed_demo(keyring)
    if created is not None:
        org, api_key = created.org, created.api_key
    else:
        org = await get_organization_by_slug(DEMO_SLUG)
        api_key = await create_api_key(keyring, org, name="demo")
    stored = org.allowed_origins
    origins: list[str] = msgspec.json.decode(stored) if isinstance(stored, str) else list(stored)
    if merchant_origin not in origins:
        await Organization.update(
            {Organization.allowed_origins: normalize_origins([*origins, merchant_origin])}
        ).where(Organization.id == org.id)
    return DemoMerchant(
        org=org,
        api_key=api_key,
        seeded=created is not None,
        console_link=await issue_link(org, DEMO_OWNER, public_url),
    )


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to ``run_demo``, which stops both servers together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: Litestar, port: int) -> _Server:
    return _Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", proxy_headers=False))


async def _until_started(servers: list[_Server], tasks: list[asyncio.Task[None]]) -> bool:
    """True once every server listens; False as soon as one gave up (a port in use, say)."""
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            return False
        await asyncio.sleep(STARTUP_POLL_SECONDS)
    return True


def _redacted(url: str) -> str:
    """``url`` without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def _banner(portal_url: str, merchant_url: str, demo: DemoMerchant, settings: Settings) -> str:
    data = "seeded just now" if demo.seeded else "reused from an earlier run"
    database = _redacted(settings.database_url)
    return "\n".join(
        [
            "",
            "selfserve demo is running",
            f"  portal server:       {portal_url}   (API docs at /schema, health at /health)",
            f"  demo merchant app:   {merchant_url}   (Acme's account settings page)",
            f"  demo secret API key: {demo.api_key}",
            "                       (made for this run; use it as: Authorization: Bearer <key>)",
            f"  merchant console:    {demo.console_link}",
            f"                       (signs in {DEMO_OWNER}, the owner; works once, for 15 minutes)",
            f"  merchant: {demo.org.name} (slug {demo.org.slug}), data {data} in {database}",
            "Press Ctrl+C to stop.",
            "",
        ]
    )


async def run_demo(settings: Settings, *, port: int, merchant_port: int) -> int:
    portal_url = settings.public_url
    merchant_url = f"http://{HOST}:{merchant_port}"
    engine = engine_from_url(settings.database_url)
    bind_tables(engine)
    await open_engine(engine)
    try:
        await migrate(engine)
        demo = await prepare_demo(
            Keyring(settings.secret_keys), f"http://{HOST}:{merchant_port}", settings.public_url
        )
        merchant = create_merchant_app(
            MerchantConfig(
                org_id=demo.org.id, portal_url=portal_url, api_key=demo.api_key, merchant_url=merchant_url
            )
        )
        servers = [
            _server(create_app(settings, engine=engine, run_worker=True), port),
            _server(merchant, merchant_port),
        ]

        def stop() -> None:
            for server in servers:
                server.should_exit = True

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows has no loop signal handlers
                loop.add_signal_handler(signum, stop)
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        if await _until_started(servers, tasks):
            print(_banner(portal_url, merchant_url, demo, settings), flush=True)
        else:
            stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        return 0 if all(server.started for server in servers) else 1
    finally:
        await close_engine(engine)
