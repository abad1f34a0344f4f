"""PooledSQLiteEngine: connections are reused, a transaction keeps one to itself, a failed transaction never
hands a half-open one on, and many concurrent writers of one process queue instead of failing."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from piccolo.engine.sqlite import TransactionType

from server.db.engine import (
    SQLITE_IDLE_CONNECTIONS,
    PooledSQLiteEngine,
    close_engine,
    engine_from_url,
    open_engine,
)

TABLE = "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"


@pytest.fixture
async def db(tmp_path):
    engine = engine_from_url(f"sqlite:///{tmp_path / 'pool.db'}")
    assert isinstance(engine, PooledSQLiteEngine)
    await open_engine(engine)
    await engine.run_ddl(TABLE)
    await engine.run_ddl("INSERT INTO counter (id, n) VALUES (1, 0)")
    yield engine
    await close_engine(engine)


async def _count(engine: PooledSQLiteEngine) -> int:
    rows = await engine.run_ddl("SELECT n FROM counter WHERE id = 1")
    return int(rows[0]["n"])


async def test_statements_reuse_a_few_long_lived_connections(db):
    await asyncio.gather(*(_count(db) for _ in range(50)))
    idle = list(db._idle)
    assert 1 <= len(idle) <= SQLITE_IDLE_CONNECTIONS
    await asyncio.gather(*(_count(db) for _ in range(5)))
    assert set(map(id, db._idle)) <= set(map(id, idle)), "later statements opened new connections"


async def test_many_concurrent_writers_and_write_transactions_all_succeed(db):
    async def bump() -> None:
        await db.run_ddl("UPDATE counter SET n = n + 1 WHERE id = 1")

    async def bump_in_transaction() -> None:
        async with db.transaction(transaction_type=TransactionType.immediate):
            n = await _count(db)
            await asyncio.sleep(0)  # another task runs here; the write lock keeps it out
            await db.run_ddl(f"UPDATE counter SET n = {n + 1} WHERE id = 1")

    await asyncio.gather(*(bump() for _ in range(40)), *(bump_in_transaction() for _ in range(40)))
    assert await _count(db) == 80


async def test_a_transaction_that_fails_rolls_back_and_its_connection_comes_back_clean(db):
    async def change_then_fail() -> None:
        async with db.transaction(transaction_type=TransactionType.immediate):
            await db.run_ddl("UPDATE counter SET n = 100 WHERE id = 1")
            await db.run_ddl("INSERT INTO counter (id, n) VALUES (1, 0)")

    with pytest.raises(sqlite3.IntegrityError):
        await change_then_fail()
    assert await _count(db) == 0
    assert all(not connection.in_transaction for connection in db._idle)
