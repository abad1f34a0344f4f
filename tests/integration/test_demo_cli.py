"""`selfserve demo` as people run it: a subprocess on free ports with its own SQLite file, started twice."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT = 120.0
KEY_PATTERN = re.compile(r"ss_sk_[0-9A-Za-z]{40,}")


@pytest.fixture
def sqlite_only(db_kind):
    if db_kind != "sqlite":
        pytest.skip("the demo command is checked once, in the SQLite run (it serves an SQLite file)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _selfserve() -> list[str]:
    script = Path(sys.executable).parent / "selfserve"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


async def _start_demo(workdir: Path, port: int, merchant_port: int) -> tuple[asyncio.subprocess.Process, str]:
    """Start the demo and return it with everything it printed up to its "running" banner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFSERVE_")}
    env |= {"SELFSERVE_DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}", "SELFSERVE_DATA_DIR": str(workdir)}
    process = await asyncio.create_subprocess_exec(
        *_selfserve(),
        "demo",
        "--port",
        str(port),
        "--merchant-port",
        str(merchant_port),
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed = ""

    async def until_banner() -> None:
        nonlocal printed
        assert process.stdout is not None
        while "Press Ctrl+C" not in printed:
            line = await process.stdout.readline()
            if not line:
                raise AssertionError(f"the demo exited before serving:\n{printed}")
            printed += line.decode()

    try:
        await asyncio.wait_for(until_banner(), STARTUP_TIMEOUT)
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return process, printed


async def _stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    return await asyncio.wait_for(process.wait(), 30)


async def test_demo_serves_both_apps_prints_a_key_and_reuses_its_data(sqlite_only, tmp_path):
    port, merchant_port = _free_port(), _free_port()
    portal_url, merchant_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{merchant_port}"

    process, printed = await _start_demo(tmp_path, port, merchant_port)
    try:
        assert portal_url in printed
        assert merchant_url in printed
        assert "seeded just now" in printed
        first_key = KEY_PATTERN.search(printed).group(0)
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.get(f"{portal_url}/health")).status_code == 200
            organization = await http.get(
                f"{portal_url}/v1/organization", headers={"Authorization": f"Bearer {first_key}"}
            )
            assert organization.status_code == 200
            assert organization.json()["slug"] == "acme"
            page = await http.get(f"{merchant_url}/")
            assert page.status_code == 200
            assert "Account settings" in page.text
            customer_id = re.search(r'<option value="([0-9a-f-]+)" selected>', page.text).group(1)
            opened = await http.post(f"{merchant_url}/billing/portal", data={"customer_id": customer_id})
            assert opened.status_code == 303
            assert opened.headers["location"].startswith(f"{portal_url}/portal/acme#token=")
            console = re.search(rf"{portal_url}/console/login\?org=acme#token=(ml_[\w-]+)", printed)
            signed_in = await http.post(
                f"{portal_url}/console/session", data={"org": "acme", "token": console.group(1)}
            )
            assert signed_in.status_code == 303
            cookie = {"cookie": f"ss_console={signed_in.cookies['ss_console']}"}
            home = await http.get(f"{portal_url}/console", headers=cookie)
            assert "owner@acme.example" in home.text
    finally:
        assert await _stop(process) == 0

    process, printed = await _start_demo(tmp_path, port, merchant_port)
    try:
        assert "reused from an earlier run" in printed
        second_key = KEY_PATTERN.search(printed).group(0)
        assert second_key != first_key
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.get(
                f"{portal_url}/v1/organization", headers={"Authorization": f"Bearer {second_key}"}
            )
            assert response.status_code == 200
    finally:
        assert await _stop(process) == 0
