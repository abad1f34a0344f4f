"""Turn a unique-index violation (a race the transaction lost) into a clear 409 on both engines."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import asyncpg

from server.errors import Conflict


def is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


@contextlib.contextmanager
def unique_or_conflict(detail: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict(detail) from exc
        raise
