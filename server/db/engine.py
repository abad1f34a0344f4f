"""Engine selection from a database URL and binding the tables to it (migrations: ``server.db.migrate``)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from typing import Any
from urllib.parse import urlsplit

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from server.db.tables import TABLES

DEFAULT_DATABASE_URL = "sqlite:///./selfserve.db"
SQLITE_BUSY_TIMEOUT_S = 30.0
SQLITE_IDLE_CONNECTIONS = 32
"""Kept open for reuse: each is a thread and a file handle. With 8, a page reading through the query builder
under 32 concurrent requests opened and closed a connection (and its thread) for most statements: the hosted
page served 1.8x more at 32 (py-spy: thread starts and ``PRAGMA`` on fresh connections)."""
RETURNING_SINCE = 3.35
"""SQLite learnt ``RETURNING`` in 3.35; before it Piccolo reads inserted keys back on the same cursor."""
READING_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")


class DatabaseUrlError(ValueError):
    """The database URL is neither ``sqlite:///path`` nor ``postgresql://…``."""


class PooledSQLiteEngine(SQLiteEngine):
    """SQLite with long-lived connections and queued writers.

    Piccolo's engine opens a new connection (and its thread) for every statement and makes four round trips
    to it; this one keeps up to ``idle_connections`` open and runs a statement in one round trip. A
    transaction still has a connection to itself for its whole life (lent from the same idle list, back only
    if it ended cleanly). SQLite has one writer at a time: writes and write transactions of this process
    take turns on an asyncio lock, so they wait in a queue instead of polling the file lock with the busy
    handler's sleeps (the busy timeout still settles it between processes)."""

    def __init__(self, path: str, *, idle_connections: int = SQLITE_IDLE_CONNECTIONS, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._max_idle = idle_connections
        self._writer: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._reader: sqlite3.Connection | None = None
        self._writer_now: sqlite3.Connection | None = None

    def write_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._writer is None or self._writer[0] is not loop:
            self._writer = (loop, asyncio.Lock())
        return self._writer[1]

    async def _open(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        connection._thread.daemon = True  # an idle connection must not keep the process alive at exit
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _acquire(self) -> aiosqlite.Connection:
        return self._idle.pop() if self._idle else await self._open()

    async def _release(self, connection: aiosqlite.Connection) -> None:
        """Back to the idle list, unless it is closed, still inside a transaction, or one too many."""
        if (
            connection._connection is not None
            and not connection.in_transaction
            and len(self._idle) < self._max_idle
        ):
            self._idle.append(connection)
        else:
            await connection.close()

    async def get_connection(self) -> Any:
        """A connection for a transaction or a batch; their ``close()`` gives it back."""
        return _LentConnection(self, await self._acquire())

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return _QueuedTransaction(self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        if query_type == "insert" and self.get_version_sync() < RETURNING_SINCE:
            return await super()._run_in_new_connection(query, args, query_type, table)
        return await self.run_statement(query, args or [])

    async def run_statement(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        """One statement (``?`` placeholders) outside any transaction, its rows: a write in turn on the
        write lock."""
        if query.lstrip()[:7].upper().startswith(READING_STATEMENTS):
            return await self._on_thread(query, args)
        async with self.write_lock():
            return await self._on_thread(query, args)

    async def _on_thread(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        connection = await self._acquire()
        try:
            return list(await connection.execute_fetchall(query, args))  # type: ignore[arg-type]
        finally:
            await self._release(connection)

    async def write_statement(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        """One small write (``?`` placeholders) outside any transaction, its ``RETURNING`` rows, run on the
        event loop's thread with a busy timeout of 0: a statement of a few indexed rows and its commit take
        a fraction of a millisecond, where a trip to a connection thread and back waits on the scheduler
        twice (2-3 ms a write under load, and the writes queued on the lock behind it wait for each).
        While another write of this process holds the write lock it waits its turn there, then runs the
        same way; only when another process holds the file (busy) does it go to a connection thread,
        whose busy timeout waits for it."""
        lock = self.write_lock()
        if not lock.locked():
            try:
                return self._write_now(query, args)
            except _Busy:
                pass
        async with lock:
            try:
                return self._write_now(query, args)
            except _Busy:
                return await self._on_thread(query, args)

    def _write_now(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        if self._writer_now is None:
            options = {**self.connection_kwargs, "timeout": 0, "check_same_thread": False}
            self._writer_now = sqlite3.connect(**options)
            self._writer_now.row_factory = dict_factory
            self._writer_now.execute("PRAGMA foreign_keys = 1")
        try:
            rows: list[dict[str, Any]] = self._writer_now.execute(query, args).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise _Busy from exc
            raise
        return rows

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if query_type == "insert" and self.get_version_sync() < RETURNING_SINCE:
            return await super()._run_in_existing_connection(connection, query, args, query_type, table)
        return list(await connection.execute_fetchall(query, args or []))

    def reader(self) -> sqlite3.Connection:
        """A connection for ``server.db.point_reads``: one-row reads run on it synchronously, on the event
        loop's thread (a few microseconds; in WAL mode a reader never waits for a writer, and with no busy
        timeout a locked file raises at once instead of blocking the loop)."""
        if self._reader is None:
            options = {**self.connection_kwargs, "timeout": 0, "check_same_thread": False}
            self._reader = sqlite3.connect(**options)
            self._reader.row_factory = dict_factory
        return self._reader

    async def close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()
        for on_loop in (self._reader, self._writer_now):
            if on_loop is not None:
                on_loop.close()
        self._reader = self._writer_now = None


class _Busy(Exception):
    """Another connection holds the SQLite file's write lock."""


class _QueuedTransaction(SQLiteTransaction):
    """An IMMEDIATE or EXCLUSIVE transaction holds the engine's write lock from before BEGIN to its end."""

    __slots__ = ("_lock",)

    def __init__(self, engine: PooledSQLiteEngine, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is None and self.transaction_type is not TransactionType.deferred:
            assert isinstance(self.engine, PooledSQLiteEngine)
            self._lock = self.engine.write_lock()
            await self._lock.acquire()
        try:
            return await super().__aenter__()
        except BaseException:  # BEGIN failed (busy for too long): give the connection back, then the lock
            connection = getattr(self, "connection", None)
            if connection is not None:
                await connection.close()
            self._unlock()
            raise

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


class _LentConnection:
    """A pooled connection as Piccolo's transactions and batches see it: ``close()`` returns it."""

    def __init__(self, engine: PooledSQLiteEngine, connection: aiosqlite.Connection) -> None:
        self._engine = engine
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def close(self) -> None:
        await self._engine._release(self._connection)


def engine_from_url(url: str) -> Engine:  # type: ignore[type-arg]
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite://").removeprefix("/")
        if not path:
            raise DatabaseUrlError("sqlite URL needs a path: sqlite:///relative.db or sqlite:////abs/path.db")
        return PooledSQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_S)
    if scheme in {"postgresql", "postgres"}:
        return PostgresEngine(config={"dsn": url})
    raise DatabaseUrlError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def bind_tables(engine: Engine) -> None:  # type: ignore[type-arg]
    """Point every table at ``engine`` (Piccolo would otherwise look for a ``piccolo_conf`` module)."""
    for table in TABLES:
        table._meta.db = engine


async def open_engine(engine: Engine) -> None:  # type: ignore[type-arg]
    """Start the PostgreSQL pool (once), or put an SQLite file in WAL mode so readers never block writers."""
    if isinstance(engine, PostgresEngine):
        if engine.pool is None:
            await engine.start_connection_pool(min_size=2, max_size=20, reset=_nothing_to_reset)
    elif isinstance(engine, SQLiteEngine):
        os.makedirs(os.path.dirname(os.path.abspath(engine.path)), exist_ok=True)  # noqa: ASYNC240 (startup only)
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def _nothing_to_reset(connection: Any) -> None:
    """How a pooled PostgreSQL connection is reset on release. asyncpg's default sends four statements
    (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) every time, a round trip on every query outside a
    transaction; nothing here sets session state, and asyncpg still rolls back a transaction left open."""


async def close_engine(engine: Engine) -> None:  # type: ignore[type-arg]
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.close_idle()


WRITE_CHECK_TIMEOUT_S = 2.0


class NotWritable(Exception):
    """The database answered but would not take a write."""


async def check_writable(engine: Engine) -> None:  # type: ignore[type-arg]
    """Raise unless the database commits a write within ``WRITE_CHECK_TIMEOUT_S``: a full disk, a read-only
    file or server, or a write lock held too long all fail it, where a ``SELECT 1`` would still answer."""
    if isinstance(engine, PostgresEngine):
        async with asyncio.timeout(WRITE_CHECK_TIMEOUT_S):
            await _postgres_write(engine)
    elif isinstance(engine, SQLiteEngine):
        await asyncio.to_thread(_sqlite_write, engine.path, WRITE_CHECK_TIMEOUT_S)


async def _postgres_write(engine: PostgresEngine) -> None:
    """Taking a transaction id makes the commit write (and flush) a WAL record; a standby refuses it."""
    async with engine.transaction():
        [row] = await engine.run_ddl(
            "SELECT current_setting('transaction_read_only') AS read_only "
            "FROM (SELECT pg_current_xact_id()) AS taken"
        )
    if row["read_only"] != "off":
        raise NotWritable("transactions are read-only")


def _sqlite_write(path: str, timeout: float) -> None:
    """Take the write lock and rewrite the header's ``user_version`` (a page written to the WAL and
    committed), on a connection of its own whose busy timeout is ``timeout``."""
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        [version] = connection.execute("PRAGMA user_version").fetchone()
        connection.execute(f"PRAGMA user_version = {int(version)}")
        connection.execute("COMMIT")
    finally:
        connection.close()


def write_transaction() -> Any:
    """A transaction for writes. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so two writers
    queue on the busy timeout instead of failing when a read lock is upgraded."""
    engine = TABLES[0]._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()
