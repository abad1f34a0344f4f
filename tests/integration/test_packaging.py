"""`pip install .` gives a working server from any directory, and the CLI's secrets authenticate requests."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def _selfserve_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "SELFSERVE_DATABASE_URL": database_url,
        "SELFSERVE_DATA_DIR": str(tmp_path / "data"),
        "SELFSERVE_SECRET_KEYS": "packaging-test-key-" + "k" * 32,
    }


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory, request) -> Path:
    """A new virtualenv with the wheel built from this checkout (not an editable install)."""
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("packaging is checked once, in the SQLite run")
    repo = Path(__file__).resolve().parents[2]
    venv = tmp_path_factory.mktemp("wheelvenv") / "venv"
    uv = Path(sys.executable).parent / "uv"
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            str(uv),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "-r",
            str(repo / "requirements.lock"),
        ],
        check=True,
    )
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--no-deps", "--python", str(python), str(repo)], check=True
    )
    return venv


def test_installed_wheel_serves_health_and_loader_from_an_unrelated_directory(installed_venv, tmp_path):
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    port = _free_port()
    env = _selfserve_env(tmp_path, f"sqlite:///{tmp_path / 'wheel.db'}")
    process = subprocess.Popen(
        [str(installed_venv / "bin" / "selfserve"), "serve", "--port", str(port), "--no-worker"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/health", process)
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        loader = httpx.get(f"http://127.0.0.1:{port}/static/loader.js", timeout=5)
        assert loader.status_code == 200
        assert "SelfServe" in loader.text
        site_packages = next((installed_venv / "lib").glob("python*/site-packages"))
        located = subprocess.run(
            [str(installed_venv / "bin" / "python"), "-c", "import server.paths as p; print(p.STATIC_DIR)"],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=True,
        )
        assert Path(located.stdout.strip()) == site_packages / "server" / "_data" / "static"
        assert any((site_packages / "server" / "_data" / "templates").rglob("*.html"))
    finally:
        process.terminate()
        process.communicate(timeout=10)


async def test_org_create_prints_one_json_object_whose_key_authenticates(tmp_path, database_url, engine):
    env = _selfserve_env(tmp_path, database_url)
    selfserve = Path(sys.executable).parent / "selfserve"
    result = subprocess.run(
        [str(selfserve), "org", "create", "--name", "Test", "--origin", "http://localhost:3000", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    created = json.loads(result.stdout)
    assert {"id", "slug", "api_key", "embed_secret"} <= set(created)
    assert created["api_key"].startswith("ss_sk_")
    assert created["embed_secret"].startswith("ss_es_")
    assert created["allowed_origins"] == ["http://localhost:3000"]
    assert created["api_key"] not in result.stderr

    key = subprocess.run(
        [str(selfserve), "apikey", "create", "--org", created["slug"], "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    second_key = json.loads(key.stdout)["api_key"]
    assert second_key != created["api_key"]

    # The CLI used its own secret key list; an app configured with the same keys accepts both keys.
    settings = Settings(database_url=database_url, secret_keys=(env["SELFSERVE_SECRET_KEYS"],))
    transport = httpx.ASGITransport(app=create_app(settings, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        for api_key in (created["api_key"], second_key):
            response = await client.get("/v1/organization", headers={"Authorization": f"Bearer {api_key}"})
            assert response.status_code == 200
            assert response.json()["slug"] == created["slug"]


def test_org_create_refuses_bad_origin_with_a_clear_message(tmp_path, database_url, engine):
    env = _selfserve_env(tmp_path, database_url)
    selfserve = Path(sys.executable).parent / "selfserve"
    result = subprocess.run(
        [str(selfserve), "org", "create", "--name", "Bad", "--origin", "http://evil.example.com"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "plain http is allowed only for localhost" in result.stderr
    assert result.stdout == ""
