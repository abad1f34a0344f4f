"""Several processes on PostgreSQL + Redis: ``selfserve serve --workers 2`` as a real subprocess, hit over a
new connection per request (so both worker processes answer), shares its token-replay store and its rate
limits through Redis."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server import clock
from server.auth.tokens import mint_portal_token
from server.schemas.customers import CustomerCreate
from server.security.ratelimit import API_KEY_LIMIT
from server.services.customers import create_customer
from server.services.orgs import create_api_key
from tests.conftest import TEST_SECRET, _unavailable

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
REDIS_URL = os.environ.get("SELFSERVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ORIGIN = "https://app.example.com"
STARTUP_SECONDS = 60
PARALLEL = 16
OVER_LIMIT = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _redis_reachable() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        _unavailable(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        client.close()


@pytest.fixture(scope="module")
def two_workers(
    db_kind: str, database_url: str, engine: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``selfserve serve --workers 2`` on this run's PostgreSQL database (already migrated) and Redis."""
    if db_kind != "postgres":
        pytest.skip("several processes need PostgreSQL: run with --db=postgres")
    _redis_reachable()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFSERVE_")}
    env |= {
        "SELFSERVE_DATABASE_URL": database_url,
        "SELFSERVE_REDIS_URL": REDIS_URL,
        "SELFSERVE_SECRET_KEYS": TEST_SECRET,
        "SELFSERVE_PUBLIC_URL": base,
        "SELFSERVE_DATA_DIR": str(tmp_path_factory.mktemp("multiprocess")),
    }
    log_path = Path(env["SELFSERVE_DATA_DIR"]) / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--workers",
                "2",
                "--no-worker",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(process, base, log_path)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"selfserve serve exited:\n{log_path.read_text()}"
        started = log_path.read_text().count("Application startup complete")
        try:
            if started == 2 and httpx.get(base + "/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"two workers did not start in time:\n{log_path.read_text()}")


async def _each_on_its_own_connection(requests: list[tuple[str, str, dict[str, object]]]) -> list[int]:
    """Send every request over a new connection, ``PARALLEL`` at a time; the answers' status codes."""
    gate = asyncio.Semaphore(PARALLEL)

    async def send(method: str, url: str, kwargs: dict[str, object]) -> int:
        async with gate, httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as http:
            response = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
            return response.status_code

    return list(await asyncio.gather(*(send(*request) for request in requests)))


async def test_a_token_is_redeemed_once_across_worker_processes(two_workers, org):
    customer = await create_customer(org.org.id, CustomerCreate(email="replay@example.com"))
    token = mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret)
    body = {"json": {"token": token, "origin": ORIGIN}}
    statuses = await _each_on_its_own_connection([("POST", two_workers + "/embed/session", body)] * 40)
    assert Counter(statuses) == {201: 1, 401: 39}


async def test_the_api_rate_limit_holds_across_worker_processes(two_workers, org, keyring):
    key = await create_api_key(keyring, org.org, name="multiprocess")
    # the limit counts in fixed windows: start early in one so all the requests fall inside it
    into_window = clock.now().timestamp() % API_KEY_LIMIT.window_seconds
    if into_window > API_KEY_LIMIT.window_seconds - 30:
        await asyncio.sleep(API_KEY_LIMIT.window_seconds - into_window + 0.5)
    request = ("GET", two_workers + "/v1/customers?limit=1", {"headers": {"Authorization": f"Bearer {key}"}})
    statuses = await _each_on_its_own_connection([request] * (API_KEY_LIMIT.hits + OVER_LIMIT))
    assert Counter(statuses) == {200: API_KEY_LIMIT.hits, 429: OVER_LIMIT}
