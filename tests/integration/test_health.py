"""Readiness (``/health``) is a write the database commits within a short time; liveness (``/health/live``)
touches nothing. Failures are real: a write lock held by another connection, a file that cannot grow, a
PostgreSQL database whose transactions are read-only."""

import os
import sqlite3
import subprocess
import sys
from urllib.parse import urlsplit

import asyncpg
import pytest

from server.db import engine as db_engine
from server.db.engine import NotWritable, check_writable, engine_from_url


async def test_ready_and_live_answer_get_and_head(client):
    for method in ("GET", "HEAD"):
        ready = await client.request(method, "/health")
        assert ready.status_code == 200, method
        assert ready.headers["cache-control"] == "no-store"
        live = await client.request(method, "/health/live")
        assert live.status_code == 200, method
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/health/live")).text == "ok"


async def test_a_held_write_lock_makes_health_503_while_liveness_stays_200(
    client, engine, db_kind, monkeypatch
):
    if db_kind != "sqlite":
        pytest.skip("an SQLite write lock; PostgreSQL is failed by a read-only database below")
    monkeypatch.setattr(db_engine, "WRITE_CHECK_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(engine.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        ready = await client.get("/health")
        live = await client.get("/health/live")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["detail"] == "The database does not accept writes right now."
    assert live.status_code == 200
    assert (await client.get("/health")).status_code == 200


FULL_DISK_CHECK = """
import asyncio, resource, sys
from server.db.engine import check_writable, engine_from_url
if sys.argv[2] == "full":
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))
asyncio.run(check_writable(engine_from_url("sqlite:///" + sys.argv[1])))
"""


def test_a_file_that_cannot_grow_fails_the_write_check(tmp_path, db_kind):
    if db_kind != "sqlite":
        pytest.skip("an SQLite file")
    path = tmp_path / "full.db"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x)")
    setup.commit()
    setup.close()  # the last connection checkpoints and removes the WAL: the next commit has to write one
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    def check(disk: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", FULL_DISK_CHECK, str(path), disk]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    full = check("full")
    assert full.returncode != 0
    assert "sqlite3.OperationalError" in full.stderr  # "disk I/O error": the WAL index cannot be sized
    assert check("room").returncode == 0


async def test_a_read_only_postgres_database_fails_the_write_check(database_url, db_kind):
    if db_kind != "postgres":
        pytest.skip("a PostgreSQL setting")
    name = urlsplit(database_url).path[1:]
    admin = await asyncpg.connect(database_url)
    fresh = engine_from_url(database_url)  # new connections see the setting; the test session's pool does not
    try:
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        with pytest.raises(NotWritable):
            await check_writable(fresh)
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        await admin.close()
    await check_writable(fresh)
