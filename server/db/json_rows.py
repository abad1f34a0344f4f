"""Many rows as one JSON parameter: ``INSERT … SELECT`` from a JSON array of row arrays.

Binding one text leaves the work to the database. Piccolo formats every placeholder in Python (slower than the
INSERT itself for hundreds of rows), and on SQLite ``executemany`` takes the GIL back from the event loop's
thread once a row: when the loop is busy, each of those waits out the interpreter's switch interval, and a
batch of 500 rows took seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


def json_param(value: object) -> str:
    return msgspec.json.encode(value).decode()


def utc_stamp(moment: datetime) -> str:
    """``2027-03-10 12:00:00.5+00:00``: the text Piccolo writes for a timestamptz on SQLite (PostgreSQL
    reads it too). Its first ten characters are the UTC day."""
    return str(moment.astimezone(UTC))


def insert_from_json(table: str, columns: tuple[tuple[str, str | None], ...], *, postgres: bool) -> str:
    """``INSERT INTO table (columns) SELECT …`` whose rows come from one JSON array of row arrays.

    A column with a type takes the next element of each row array (cast on PostgreSQL; SQLite stores the
    JSON scalar as it is); a column without one is a parameter of its own, the same for every row. The JSON
    array is the last parameter."""
    fields: list[str] = []
    element = 0
    for _, sql_type in columns:
        if sql_type is None:
            fields.append("{}")
            continue
        fields.append(
            f"(e.value ->> {element})::{sql_type}" if postgres else f"json_extract(e.value, '$[{element}]')"
        )
        element += 1
    source = "jsonb_array_elements({}::jsonb) AS e(value)" if postgres else "json_each({}) AS e WHERE true"
    names = ", ".join(name for name, _ in columns)
    return f"INSERT INTO {table} ({names}) SELECT {', '.join(fields)} FROM {source}"  # noqa: S608 (no values)
