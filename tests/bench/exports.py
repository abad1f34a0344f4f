"""The CSV exports on the scale dataset, through the real server: the usage CSV of the customers with the
most daily rollups and the orders CSV of the one with the most orders, each checked against the database
(row count and sums equal), with rows per second and how far the server's resident memory rose above
where it stood before (its peak, from ``/proc``: the kernel's high-water mark is reset first)."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from server.db.enums import MeterAggregation
from server.db.tables import Meter, Order, UsageRollup

USAGE_CUSTOMERS = 50


@dataclass(frozen=True)
class Expected:
    """What an export must hold, read from the database: its data rows, and the sum of each numeric column
    (usage: per meter; orders: per amount column)."""

    customer_id: str
    rows: int
    sums: dict[str, int]


@dataclass(frozen=True)
class Figures:
    exports: int
    rows: int
    seconds: float
    peak_rss_growth_kib: int
    mismatches: list[str]


async def expected_usage(org_id: str) -> list[Expected]:
    """The scale customers with the most rollup rows: one CSV row per rollup and meter of its event."""
    org = uuid.UUID(org_id)
    meters = await Meter.select(Meter.id, Meter.event_name, Meter.aggregation).where(Meter.org == org)
    busiest = await UsageRollup.raw(
        "SELECT customer, count(*) AS n FROM ss_usage_rollup WHERE org = {} GROUP BY customer "
        "ORDER BY n DESC, customer LIMIT {}",
        org,
        USAGE_CUSTOMERS,
    )
    found = []
    for customer in (str(row["customer"]) for row in busiest):
        sums: Counter[str] = Counter()
        rows = 0
        for rollup in await UsageRollup.select(
            UsageRollup.name, UsageRollup.total, UsageRollup.event_count
        ).where(UsageRollup.org == org, UsageRollup.customer == uuid.UUID(customer)):
            for meter in meters:
                if meter["event_name"] == rollup["name"]:
                    rows += 1
                    by_sum = meter["aggregation"] == MeterAggregation.SUM
                    sums[str(meter["id"])] += int(rollup["total"] if by_sum else rollup["event_count"])
        found.append(Expected(customer, rows, dict(sums)))
    return found


ORDER_SUMS = ("subtotal", "tax_amount", "wallet_applied", "total", "refunded_amount")


async def expected_orders(org_id: str) -> Expected:
    """The scale customer with the most orders."""
    org = uuid.UUID(org_id)
    [busiest] = await Order.raw(
        "SELECT customer, count(*) AS n FROM ss_order WHERE org = {} GROUP BY customer "
        "ORDER BY n DESC, customer LIMIT 1",
        org,
    )
    customer = str(busiest["customer"])
    orders = await Order.select(*(getattr(Order, c) for c in ORDER_SUMS)).where(
        Order.org == org, Order.customer == uuid.UUID(customer)
    )
    return Expected(customer, len(orders), {c: sum(int(o[c]) for o in orders) for c in ORDER_SUMS})


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _check(kind: str, body: str, expected: Expected) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(body)))
    sums: Counter[str] = Counter()
    for row in rows:
        if kind == "usage":
            sums[row["meter_id"]] += int(row["value"])
        else:
            for column in ORDER_SUMS:
                sums[column] += int(row[column])
    wrong = []
    if len(rows) != expected.rows:
        wrong.append(f"{kind} {expected.customer_id}: {len(rows)} rows, the database has {expected.rows}")
    if dict(sums) != expected.sums:
        wrong.append(f"{kind} {expected.customer_id}: sums {dict(sums)}, the database has {expected.sums}")
    return wrong


def run(base: str, pid: int, api_key: str, usage: list[Expected], orders: Expected) -> Figures:
    """Download every export in turn (streamed by the client too) and check each against ``expected``."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets the peak resident size (VmHWM)
    before = _kib(pid, "VmRSS")
    mismatches: list[str] = []
    rows = 0
    started = time.perf_counter()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=120) as http:
        for kind, expected in [*(("usage", e) for e in usage), ("orders", orders)]:
            with http.stream("GET", f"/v1/customers/{expected.customer_id}/{kind}.csv") as answer:
                answer.raise_for_status()
                body = "".join(answer.iter_text())
            mismatches += _check(kind, body, expected)
            rows += body.count("\r\n") - 1
    seconds = time.perf_counter() - started
    growth = _kib(pid, "VmHWM") - before
    return Figures(len(usage) + 1, rows, seconds, growth, mismatches)
