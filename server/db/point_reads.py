"""One-row reads for the hot paths (every API request's key, the customer of a minted token, every portal
request's session), straight on the driver; and the few one-statement writes of a token → session exchange.

Piccolo's query builder costs about a millisecond a query, and on SQLite every statement also travels to a
connection thread and back (a few hundred microseconds under load). These reads are one hand-written
statement each instead. On SQLite the statement runs synchronously on the engine's reader connection:
reading a few indexed rows takes microseconds, and in WAL mode a reader never waits for a writer; should the
file be locked anyway (busy timeout 0 here), the read goes through the engine instead of blocking
the event loop. On PostgreSQL it runs on a pooled connection without the query builder. Inside a transaction
it goes through the engine, so it sees the transaction's own writes.

A write (``write``) is one hand-written statement too: on SQLite on the engine's queued writer (one trip to
a connection thread, in turn with this process's other writes), on PostgreSQL on a pooled connection.
"""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from typing import Any, TypeVar

from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from server.db.engine import PooledSQLiteEngine
from server.db.tables import TABLES

_PLACEHOLDER = re.compile(r"\{\}")
T = TypeVar("T", bound=Table)


@cache
def _numbered(sql: str) -> str:
    """``{}`` placeholders as PostgreSQL's ``$1, $2, …``."""
    counter = iter(range(1, sql.count("{}") + 1))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


@cache
def _qmarks(sql: str) -> str:
    return sql.replace("{}", "?")


def _sqlite_reader(engine: PooledSQLiteEngine) -> sqlite3.Connection:
    return engine.reader()


async def read_one(sql: str, *args: Any) -> dict[str, Any] | None:
    """The first row of ``sql`` (a read with ``{}`` placeholders, as in Piccolo's ``raw``), or None."""
    table = TABLES[0]
    engine = table._meta.db
    if engine.current_transaction.get() is None:
        if isinstance(engine, PooledSQLiteEngine):
            try:
                row: dict[str, Any] | None = _sqlite_reader(engine).execute(_qmarks(sql), args).fetchone()
                return row
            except sqlite3.OperationalError:  # locked for a moment: wait for it off the event loop
                pass
        elif isinstance(engine, PostgresEngine) and engine.pool is not None:
            async with engine.pool.acquire() as connection:
                record = await connection.fetchrow(_numbered(sql), *args)
            return dict(record) if record is not None else None
    rows: list[dict[str, Any]] = await table.raw(sql, *args)
    return rows[0] if rows else None


@cache
def _select_all(table: type[Table]) -> str:
    columns = ", ".join(f'"{column._meta.db_column_name}"' for column in table._meta.columns)
    return f'SELECT {columns} FROM "{table._meta.tablename}" WHERE '  # noqa: S608 (our own table's names)


async def read_row(table: type[T], where: str, *args: Any) -> T | None:
    """The first row of ``table`` matching ``where`` (SQL with ``{}`` placeholders) as the object the query
    builder's ``objects().first()`` would give, read as ``read_one`` reads."""
    row = await read_one(_select_all(table) + where, *args)
    return None if row is None else table(**row, _exists_in_db=True)


async def write(sql: str, *args: Any) -> list[dict[str, Any]]:
    """The rows ``RETURNING`` gives back from one write statement (``{}`` placeholders as in ``read_one``)."""
    table = TABLES[0]
    engine = table._meta.db
    if engine.current_transaction.get() is None:
        if isinstance(engine, PooledSQLiteEngine):
            return await engine.write_statement(_qmarks(sql), list(args))
        if isinstance(engine, PostgresEngine) and engine.pool is not None:
            async with engine.pool.acquire() as connection:
                return [dict(record) for record in await connection.fetch(_numbered(sql), *args)]
    rows: list[dict[str, Any]] = await table.raw(sql, *args)
    return rows
