"""The scale dataset: 10,000 customers, 1,000,000 usage events (with their daily rollups) and 100,000 paid
orders (one line each), added to an org with bulk INSERTs: ``executemany`` in one transaction on SQLite,
``COPY`` on PostgreSQL. Rows look like the ones the services write (same columns, types and formats)."""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from server import clock
from server.db.tables import Customer

RANDOM_SEED = 9
EVENT_NAMES = ("api_requests", "storage_gb")
HISTORY_DAYS = 60


@dataclass(frozen=True)
class ScaleSize:
    customers: int = 10_000
    events: int = 1_000_000
    orders: int = 100_000


@dataclass
class _Rows:
    """Column names and row tuples per table, in insert order (customers before what references them)."""

    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def _uuids(rng: random.Random) -> Iterator[uuid.UUID]:
    while True:
        yield uuid.UUID(int=rng.getrandbits(128), version=4)


def _rows(org_id: uuid.UUID, size: ScaleSize, now: datetime) -> _Rows:
    rng = random.Random(RANDOM_SEED)
    ids = _uuids(rng)
    start = now - timedelta(days=HISTORY_DAYS)
    customers = []
    for n in range(size.customers):
        created = start - timedelta(days=rng.randint(1, 400))
        customers.append(
            (
                next(ids),
                org_id,
                f"scale{n}@bench.example",
                f"Scale Customer {n}",
                f"scale_{n}",
                created,
                created,
            )
        )
    customer_ids = [row[0] for row in customers]

    events = []
    rollups: dict[tuple[uuid.UUID, str, str], list[int]] = defaultdict(lambda: [0, 0])
    span = HISTORY_DAYS * 86_400
    for _ in range(size.events):
        customer, name = rng.choice(customer_ids), rng.choice(EVENT_NAMES)
        value = rng.randint(1, 50)
        occurred = start + timedelta(seconds=rng.randrange(span))
        events.append((next(ids), org_id, customer, name, value, occurred, occurred, "{}"))
        rollup = rollups[(customer, name, occurred.date().isoformat())]
        rollup[0] += value
        rollup[1] += 1

    orders, lines = [], []
    for n in range(size.orders):
        customer = customer_ids[n % len(customer_ids)]
        issued = start - timedelta(days=rng.randint(0, 700))
        amount = rng.choice((900, 2900, 4900, 19900))
        order_id = next(ids)
        snapshot = json.dumps({"name": "Scale Customer", "email": "scale@bench.example"})
        money = (amount, 0, 0, amount, 0)
        invoice = (f"SCALE-{n:07d}", issued, snapshot, "{}", 1, issued, issued)
        orders.append((order_id, org_id, customer, "paid", "purchase", "USD", *money, *invoice))
        lines.append((next(ids), org_id, order_id, "one_time", "Bench widget", 1, amount, amount, 0))
    return _Rows(
        {
            "ss_customer": (
                ["id", "org", "email", "name", "external_id", "created_at", "updated_at"],
                customers,
            ),
            "ss_usage_event": (
                ["id", "org", "customer", "name", "value", "occurred_at", "ingested_at", "metadata"],
                events,
            ),
            "ss_usage_rollup": (
                ["id", "org", "customer", "name", "day", "total", "event_count"],
                [(next(ids), org_id, c, name, day, t, n) for (c, name, day), (t, n) in rollups.items()],
            ),
            "ss_order": (
                [
                    *("id", "org", "customer", "status", "billing_reason", "currency", "subtotal"),
                    *("tax_amount", "wallet_applied", "total", "refunded_amount", "invoice_number"),
                    *("invoice_issued_at", "billing_snapshot", "custom_field_data", "payment_attempts"),
                    *("paid_at", "created_at"),
                ],
                orders,
            ),
            "ss_order_line": (
                [
                    "id",
                    "org",
                    "order",
                    "kind",
                    "description",
                    "quantity",
                    "unit_amount",
                    "amount",
                    "position",
                ],
                lines,
            ),
        }
    )


def _sqlite_value(value: Any) -> Any:
    """What Piccolo's SQLite adapters store: UUIDs as text, aware datetimes as ``str()`` in UTC."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return str(value)
    return value


def _insert_sqlite(path: str, rows: _Rows) -> None:
    connection = sqlite3.connect(path, isolation_level=None, timeout=60)
    try:
        connection.execute("BEGIN IMMEDIATE")
        for table, (columns, values) in rows.tables.items():
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                ([_sqlite_value(v) for v in row] for row in values),
            )
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def _insert_postgres(engine: PostgresEngine, rows: _Rows) -> None:
    async with engine.pool.acquire() as connection, connection.transaction():
        for table, (columns, values) in rows.tables.items():
            await connection.copy_records_to_table(table, columns=columns, records=values)
    async with engine.pool.acquire() as connection:
        await connection.execute("VACUUM ANALYZE")  # now, rather than autovacuum during the measurement


async def add_scale_dataset(org_id: uuid.UUID, size: ScaleSize | None = None) -> ScaleSize:
    """Add the scale rows to ``org_id`` on the database the tables are bound to."""
    size = size or ScaleSize()
    rows = _rows(org_id, size, clock.now())
    engine = Customer._meta.db
    if isinstance(engine, SQLiteEngine):
        _insert_sqlite(engine.path, rows)
    elif isinstance(engine, PostgresEngine):
        await _insert_postgres(engine, rows)
    else:
        raise TypeError(f"no bulk loader for {type(engine).__name__}")
    return size
