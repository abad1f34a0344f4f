"""Engine selection from a database URL, binding the tables to it, and applying migrations."""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from server.db.tables import TABLES

DEFAULT_DATABASE_URL = "sqlite:///./selfserve.db"
SQLITE_BUSY_TIMEOUT_S = 30.0


class DatabaseUrlError(ValueError):
    """The database URL is neither ``sqlite:///path`` nor ``postgresql://…``."""


def engine_from_url(url: str) -> Engine:  # type: ignore[type-arg]
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite://").removeprefix("/")
        if not path:
            raise DatabaseUrlError("sqlite URL needs a path: sqlite:///relative.db or sqlite:////abs/path.db")
        return SQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_S)
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
            await engine.start_connection_pool(min_size=2, max_size=20)
    elif isinstance(engine, SQLiteEngine):
        os.makedirs(os.path.dirname(os.path.abspath(engine.path)), exist_ok=True)  # noqa: ASYNC240 (startup only)
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_engine(engine: Engine) -> None:  # type: ignore[type-arg]
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


async def ping(engine: Engine) -> None:  # type: ignore[type-arg]
    """Raise if the database cannot answer a trivial query."""
    await engine.run_ddl("SELECT 1")


async def migrate(engine: Engine) -> list[str]:  # type: ignore[type-arg]
    """Apply every pending migration to ``engine``; return the ids applied."""
    os.environ["PICCOLO_CONF"] = "server.db.piccolo_conf"
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    from server.db import piccolo_conf

    piccolo_conf.DB = engine
    Migration._meta.db = engine
    await Migration.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]
    before = set(await Migration.get_migrations_which_ran(app_name="selfserve"))
    with contextlib.redirect_stdout(io.StringIO()):
        result = await run_forwards(app_name="selfserve")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
    after = await Migration.get_migrations_which_ran(app_name="selfserve")
    return sorted(set(after) - before)


def write_transaction() -> Any:
    """A transaction for writes. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so two writers
    queue on the busy timeout instead of failing when a read lock is upgraded."""
    engine = TABLES[0]._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()
