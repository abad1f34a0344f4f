"""Shared fixtures. Every integration test gets its own organization, so tests never see each other's rows
and the database is migrated once per run.

``--db=sqlite`` (default) uses a fresh SQLite file; ``--db=postgres`` creates a fresh PostgreSQL database on
``SELFSERVE_TEST_POSTGRES_URL`` (default ``postgresql://root@127.0.0.1:5432/test``). A PostgreSQL that cannot
be reached skips those tests with a clear reason, and fails the run under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from litestar import Litestar

from server.app import create_app
from server.db.engine import bind_tables, close_engine, engine_from_url, open_engine
from server.db.migrate import migrate
from server.organizations.service import CreatedOrganization, create_organization
from server.security.keyring import Keyring
from server.settings import Settings
from tests.integration.oauth.support import OpenIdProvider

DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-" + "x" * 32


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=("sqlite", "postgres"), default="sqlite", help="database to test against"
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"selfserve database: {config.getoption('--db')}"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this suite must run, not skip)", pytrace=False)
    pytest.skip(reason)


async def _create_postgres_database(admin_url: str) -> str:
    import asyncpg

    name = f"selfserve_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        conn = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"PostgreSQL at {admin_url} is not reachable: {exc}")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path="/" + name))


async def _drop_postgres_database(admin_url: str, url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path[1:]}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.config.getoption("--db")
    return kind


@contextlib.asynccontextmanager
async def fresh_database(db_kind: str, directory: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database of ``db_kind``: an SQLite file in ``directory``, or a PostgreSQL
    database that is dropped afterwards."""
    if db_kind == "sqlite":
        yield f"sqlite:///{directory / 'selfserve.db'}"
        return
    admin_url = os.environ.get("SELFSERVE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    url = await _create_postgres_database(admin_url)
    try:
        yield url
    finally:
        await _drop_postgres_database(admin_url, url)


@pytest.fixture(scope="session")
async def database_url(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with fresh_database(db_kind, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[Any]:
    db = engine_from_url(database_url)
    await open_engine(db)
    await migrate(db)
    bind_tables(db)
    yield db
    await close_engine(db)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        secret_keys=(TEST_SECRET,),
        data_dir=tmp_path_factory.mktemp("data"),
    )


@pytest.fixture(scope="session")
def keyring(settings: Settings) -> Keyring:
    return Keyring(settings.secret_keys)


@pytest.fixture
def app(settings: Settings, engine: Any) -> Litestar:
    return create_app(settings, engine=engine)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that runs the app on the test's own event loop, so concurrent requests really race.

    The app's lifespan hooks are not run: the engine is the session's, and background work is driven by
    the tests that need it."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
        yield http


@pytest.fixture
async def org(engine: Any, keyring: Keyring) -> CreatedOrganization:
    """A fresh merchant for this test only."""
    return await create_organization(
        keyring,
        name=f"Shop {uuid.uuid4().hex[:8]}",
        origins=["https://app.example.com", "http://localhost:3000"],
    )


@pytest.fixture
def api_headers(org: CreatedOrganization) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.api_key}"}


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def webhooks_stay_on_this_machine() -> Iterator[None]:
    """Tests may register webhook endpoints with any public URL (the API fuzz test does); this machine may
    send traffic only to itself, so every delivery connection from the test process is limited to loopback."""
    from server.security import ssrf

    original = ssrf.checked_addresses

    async def loopback_only(host: str, port: int, *, allow_local: bool) -> list[Any]:
        addresses = await original(host, port, allow_local=allow_local)
        if not all(ssrf.is_loopback(address) for address in addresses):
            raise ssrf.UnsafeWebhookTarget(f"tests deliver webhooks to loopback only, not {host}")
        return addresses

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ssrf, "checked_addresses", loopback_only)
        yield


@pytest.fixture(scope="session")
def openid_provider() -> Iterator[OpenIdProvider]:
    """oidc-provider-mock, a real OpenID Connect provider, in a process of its own (started when needed)."""
    provider = OpenIdProvider.start()
    yield provider
    provider.stop()
