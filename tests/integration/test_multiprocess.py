"""``selfserve serve`` as a real subprocess: with ``--workers 2`` on PostgreSQL + Redis, hit over a new
connection per request (so both worker processes answer), it shares its token-replay store and its rate
limits through Redis; with a certificate it speaks HTTPS itself."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from server.auth.tokens import mint_portal_token
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.organizations.service import create_api_key
from server.security.ratelimit import API_KEY_LIMIT, RedisRateLimiter
from server.wallet.service import credit
from tests.conftest import TEST_SECRET, _unavailable

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


@contextmanager
def _serve(options: list[str], env: dict[str, str], data_dir: Path, *, workers: int = 1) -> Iterator[str]:
    """``selfserve serve OPTIONS`` as a subprocess until the block ends; yields its base URL."""
    port = _free_port()
    scheme = "https" if "--ssl-certfile" in options else "http"
    base = f"{scheme}://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFSERVE_")} | {
        "SELFSERVE_SECRET_KEYS": TEST_SECRET,
        "SELFSERVE_PUBLIC_URL": base,
        "SELFSERVE_DATA_DIR": str(data_dir),
        **env,
    }
    command = [sys.executable, "-m", "server.cli", "serve", "--workers", str(workers), "--no-worker"]
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port), *options], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_serving(process, workers, log_path)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], workers: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"selfserve serve exited:\n{log_path.read_text()}"
        if log_path.read_text().count("Application startup complete") == workers:
            return
        time.sleep(0.1)
    raise AssertionError(f"{workers} worker(s) did not start in time:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def two_workers(
    db_kind: str, database_url: str, engine: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``selfserve serve --workers 2`` on this run's PostgreSQL database (already migrated) and Redis."""
    if db_kind != "postgres":
        pytest.skip("several processes need PostgreSQL: run with --db=postgres")
    _redis_reachable()
    env = {"SELFSERVE_DATABASE_URL": database_url, "SELFSERVE_REDIS_URL": REDIS_URL}
    with _serve([], env, tmp_path_factory.mktemp("multiprocess"), workers=2) as base:
        yield base


async def _each_on_its_own_connection(requests: list[tuple[str, str, dict[str, object]]]) -> list[int]:
    """Send every request over a new connection, ``PARALLEL`` at a time; the answers' status codes."""
    gate = asyncio.Semaphore(PARALLEL)

    async def send(method: str, url: str, kwargs: dict[str, object]) -> int:
        async with gate, httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as http:
            response = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
            return response.status_code

    return list(await asyncio.gather(*(send(*request) for request in requests)))


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_token_is_redeemed_once_across_worker_processes(two_workers, org):
    customer = await create_customer(org.org.id, CustomerCreate(email="replay@example.com"))
    token = mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret)
    body = {"json": {"token": token, "origin": ORIGIN}}
    statuses = await _each_on_its_own_connection([("POST", two_workers + "/embed/session", body)] * 40)
    assert Counter(statuses) == {201: 1, 401: 39}


@pytest.mark.postgres
@pytest.mark.redis
async def test_the_api_rate_limit_holds_across_worker_processes(two_workers, org, keyring):
    """The key's bucket is filled to ``OVER_LIMIT`` short of its limit through Redis from this process, then
    twice ``OVER_LIMIT`` requests go to both workers: only the places left are served. (Sending the whole
    limit instead took over a minute on a loaded machine, and the first hits left the window.)"""
    key = await create_api_key(keyring, org.org, name="multiprocess")
    shared = RedisRateLimiter(REDIS_URL)
    try:
        bucket = "api:" + keyring.api_key_hasher.digest(key)
        for _ in range(API_KEY_LIMIT.hits - OVER_LIMIT):
            assert await shared.hit(bucket, API_KEY_LIMIT) is None
    finally:
        await shared.close()
    request = ("GET", two_workers + "/v1/customers?limit=1", {"headers": {"Authorization": f"Bearer {key}"}})
    statuses = await _each_on_its_own_connection([request] * (2 * OVER_LIMIT))
    assert Counter(statuses) == {200: OVER_LIMIT, 429: OVER_LIMIT}


async def _view_texts(url: str, session: str, times: int) -> list[str]:
    """The view ``times`` times, each over a new connection, so both worker processes answer."""

    async def one() -> str:
        async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as http:
            response = await http.get(url, headers={"Authorization": f"Bearer {session}"})
            assert response.status_code == 200, response.text
            return response.text

    return list(await asyncio.gather(*(one() for _ in range(times))))


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_view_every_process_cached_shows_a_write_from_anywhere_at_once(two_workers, org):
    customer = await create_customer(org.org.id, CustomerCreate(email="cached@example.com"))
    token = mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret)
    async with httpx.AsyncClient() as http:
        opened = await http.post(two_workers + "/embed/session", json={"token": token, "origin": ORIGIN})
    session, view = opened.json()["session"], two_workers + "/embed/views/wallet"
    assert all("You have no credit yet." in text for text in await _view_texts(view, session, 20))

    await credit(org.org.id, customer.id, 1250, "USD", "promotional", "Welcome credit")  # this process
    assert all("$12.50" in text for text in await _view_texts(view, session, 20))

    settings = two_workers + "/embed/views/settings"
    assert not any("Cached Ltd" in text for text in await _view_texts(settings, session, 20))
    async with httpx.AsyncClient() as http:  # a portal action, answered by one of the workers
        changed = await http.post(
            two_workers + "/embed/views/settings/update_billing",
            data={"billing_name": "Cached Ltd"},
            headers={"Authorization": f"Bearer {session}"},
        )
    assert changed.status_code == 200, changed.text
    assert all("Cached Ltd" in text for text in await _view_texts(settings, session, 20))


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


async def test_serve_speaks_https_with_a_certificate(database_url, engine, tmp_path):
    key, cert = _self_signed_certificate(tmp_path)
    options = ["--ssl-keyfile", str(key), "--ssl-certfile", str(cert)]
    with _serve(options, {"SELFSERVE_DATABASE_URL": database_url}, tmp_path) as base:
        assert base.startswith("https://")
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(cert))) as http:
            response = await http.get(base + "/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(base + "/health")  # an unknown certificate is not trusted by default


def test_serve_refuses_half_a_certificate(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFSERVE_")}
    env |= {"SELFSERVE_DATA_DIR": str(tmp_path), "SELFSERVE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--ssl-certfile", str(tmp_path / "cert.pem")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "give both --ssl-keyfile and --ssl-certfile" in result.stderr
