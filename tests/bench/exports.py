"""The CSV exports on the scale dataset, through the real server: the usage CSV of every customer with usage
and the orders CSV of the one with the most orders, each checked against the database (row count and sums
equal to the rollups and orders; all usage files together equal to the million events' sums), with rows per
second and how far the server's resident memory rose above
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

from server.db.tables import Meter, Order, UsageEvent, UsageRollup
from server.enums import MeterAggregation


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


async def expected_usage(org_id: str) -> tuple[list[Expected], dict[str, int]]:
    """Every customer with usage: one CSV row per daily rollup and meter of its event, each meter's sum or
    count; and each meter's figure over the whole org straight from the events table (what all the files
    together must add up to)."""
    org = uuid.UUID(org_id)
    meters = await Meter.select(Meter.id, Meter.event_name, Meter.aggregation).where(Meter.org == org)

    def figure(meter: dict[str, object], total: object, count: object) -> int:
        return int(total if meter["aggregation"] == MeterAggregation.SUM else count)  # type: ignore[call-overload]

    rows: Counter[str] = Counter()
    sums: dict[str, Counter[str]] = {}
    for group in await UsageRollup.raw(
        "SELECT customer, name, count(*) AS n, sum(total) AS t, sum(event_count) AS c FROM ss_usage_rollup "
        "WHERE org = {} GROUP BY customer, name",
        org,
    ):
        customer = str(group["customer"])
        for meter in (m for m in meters if m["event_name"] == group["name"]):
            rows[customer] += int(group["n"])
            sums.setdefault(customer, Counter())[str(meter["id"])] += figure(meter, group["t"], group["c"])
    events: Counter[str] = Counter()
    for group in await UsageEvent.raw(
        "SELECT name, count(*) AS c, sum(value) AS t FROM ss_usage_event WHERE org = {} GROUP BY name", org
    ):
        for meter in (m for m in meters if m["event_name"] == group["name"]):
            events[str(meter["id"])] += figure(meter, group["t"], group["c"])
    usage = [Expected(customer, rows[customer], dict(sums[customer])) for customer in sorted(rows)]
    return usage, dict(events)


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


def run(
    base: str, pid: int, api_keys: list[str], usage: list[Expected], events: dict[str, int], orders: Expected
) -> Figures:
    """Download every export in turn (streamed by the client too, round the API keys so the rate limit never
    answers) and check each against what the database holds."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets the peak resident size (VmHWM)
    before = _kib(pid, "VmRSS")
    mismatches: list[str] = []
    rows = 0
    everyone: Counter[str] = Counter()
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=120) as http:
        for n, (kind, expected) in enumerate([*(("usage", e) for e in usage), ("orders", orders)]):
            key = {"Authorization": f"Bearer {api_keys[n % len(api_keys)]}"}
            with http.stream(
                "GET", f"/v1/customers/{expected.customer_id}/{kind}.csv", headers=key
            ) as answer:
                answer.raise_for_status()
                body = "".join(answer.iter_text())
            mismatches += _check(kind, body, expected)
            rows += body.count("\r\n") - 1
            if kind == "usage":
                for row in csv.DictReader(io.StringIO(body)):
                    everyone[row["meter_id"]] += int(row["value"])
    seconds = time.perf_counter() - started
    growth = _kib(pid, "VmHWM") - before
    if dict(everyone) != events:
        mismatches.append(f"all usage files add up to {dict(everyone)}, the events to {events}")
    return Figures(len(usage) + 1, rows, seconds, growth, mismatches)
