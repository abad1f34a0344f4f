"""``selfserve rotate-secrets``: every encrypted column sealed again under the newest entry of
``SELFSERVE_SECRET_KEYS`` while the server keeps running (the procedure is in docs/security.md).

The encrypted columns are found by their type (``EncryptedText``, ``EncryptedBytes``), so a table that adds
one is rotated with the rest. Rows are read in batches in primary-key order; each batch is written by one
UPDATE in a short transaction of its own, a row only if it still holds what was read (a secret the server
changed meanwhile was sealed under the newest key already). Every row holds the old or the new ciphertext at
every moment, and a server that has both keys opens either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from piccolo.columns import Column
from piccolo.engine.postgres import PostgresEngine

from server.db.engine import write_transaction
from server.db.tables import TABLES, EncryptedBytes, EncryptedText
from server.security.secrets import SecretBox

BATCH_ROWS = 500


@dataclass(frozen=True)
class ColumnRotation:
    column: str
    """``table.column``."""
    rotated: int
    current: int
    """Already sealed under the newest key (a second run rotates nothing)."""
    unreadable: int
    """Sealed under a key that is no longer configured: left as they are."""


def encrypted_columns() -> list[Column]:
    return [
        c for table in TABLES for c in table._meta.columns if isinstance(c, EncryptedText | EncryptedBytes)
    ]


async def rotate_secrets(box: SecretBox, batch_rows: int = BATCH_ROWS) -> list[ColumnRotation]:
    return [await _rotate_column(box, column, batch_rows) for column in encrypted_columns()]


def _text(value: Any) -> str:
    return bytes(value).decode() if isinstance(value, bytes | memoryview) else str(value)


async def _rotate_column(box: SecretBox, column: Column, batch_rows: int) -> ColumnRotation:
    table = column._meta.table
    key = table._meta.primary_key
    name, key_name = column._meta.name, key._meta.name
    as_bytes = isinstance(column, EncryptedBytes)
    rotated = current = unreadable = 0
    after = None
    while True:
        query = table.select(key, column).where(column.is_not_null()).order_by(key).limit(batch_rows)
        rows = await (query.where(key > after) if after is not None else query)
        if not rows:
            break
        after = rows[-1][key_name]
        changes = []
        for row in rows:
            sealed = _text(row[name])
            if not sealed or box.is_current(sealed):
                current += 1
                continue
            try:
                fresh = box.rotate(sealed)
            except InvalidToken:
                unreadable += 1
                continue
            changes.append((row[key_name], row[name], fresh.encode() if as_bytes else fresh))
        if changes:
            async with write_transaction():
                rotated += len(await table.raw(*_batch_update(column, changes)))
    return ColumnRotation(f"{table._meta.tablename}.{name}", rotated, current, unreadable)


def _batch_update(column: Column, changes: list[tuple[Any, Any, Any]]) -> tuple[Any, ...]:
    """One UPDATE for a batch: each row gets its new value if it still holds the one that was read."""
    table = column._meta.table
    key, name = table._meta.primary_key._meta.db_column_name, column._meta.db_column_name
    postgres = isinstance(table._meta.db, PostgresEngine)
    value = f"CAST({{}} AS {column.column_type})" if postgres else "{}"  # PostgreSQL types the parameters
    cases = " ".join(f"WHEN {{}} THEN {value}" for _ in changes)
    ids = ", ".join("{}" for _ in changes)
    sql = (  # only our own table and column names are interpolated; every value is a parameter
        f'UPDATE {table._meta.tablename} SET "{name}" = CASE "{key}" {cases} END '  # noqa: S608
        f'WHERE "{key}" IN ({ids}) AND "{name}" = CASE "{key}" {cases} END RETURNING "{key}"'
    )
    new_values = [item for row_id, _, new in changes for item in (row_id, new)]
    old_values = [item for row_id, old, _ in changes for item in (row_id, old)]
    return (sql, *new_values, *[row_id for row_id, _, _ in changes], *old_values)
