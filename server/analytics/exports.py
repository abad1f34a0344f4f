"""CSV exports of one customer's data, streamed: rows come from keyset-paged queries of ``PAGE`` rows, each
page written out before the next is read, so an export of any size holds one page in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from server.customers import service as customers
from server.db.tables import Meter, Order, UsageRollup
from server.enums import MeterAggregation

PAGE = 1000
USAGE_HEADER = ("date", "meter_id", "meter", "event_name", "unit", "value")
ORDERS_HEADER = (
    "order_id",
    "invoice_number",
    "created_at",
    "status",
    "billing_reason",
    "currency",
    "subtotal",
    "tax_amount",
    "wallet_applied",
    "total",
    "refunded_amount",
    "paid_at",
    "period_start",
    "period_end",
)
"""Amounts in integer minor units of ``currency``, as the API gives them."""


def _csv(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def _moment(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


async def usage_csv(org_id: UUID, customer_id: UUID) -> AsyncIterator[bytes]:
    """Every UTC day's usage of every meter the customer has used, oldest day first: a meter's value is its
    events' sum or count, as it bills them."""
    await customers.get_customer(org_id, customer_id)
    meters = await Meter.objects().where(Meter.org == org_id).order_by(Meter.name)
    by_event: dict[str, list[Meter]] = {}
    for meter in meters:
        by_event.setdefault(meter.event_name, []).append(meter)

    async def rows() -> AsyncIterator[bytes]:
        yield _csv([USAGE_HEADER])
        after: tuple[str, str] | None = None
        while True:
            query = UsageRollup.select(
                UsageRollup.day, UsageRollup.name, UsageRollup.total, UsageRollup.event_count
            ).where(UsageRollup.org == org_id, UsageRollup.customer == customer_id)
            if after is not None:
                day, name = after
                query = query.where(
                    (UsageRollup.day > day) | ((UsageRollup.day == day) & (UsageRollup.name > name))
                )
            page = await query.order_by(UsageRollup.day, UsageRollup.name).limit(PAGE)
            yield _csv(
                (
                    row["day"],
                    meter.id,
                    meter.name,
                    meter.event_name,
                    meter.unit_name,
                    row["total"] if meter.aggregation == MeterAggregation.SUM else row["event_count"],
                )
                for row in page
                for meter in by_event.get(row["name"], [])
            )
            if len(page) < PAGE:
                return
            after = (page[-1]["day"], page[-1]["name"])

    return rows()


async def orders_csv(org_id: UUID, customer_id: UUID) -> AsyncIterator[bytes]:
    """Every order and invoice of the customer's, oldest first."""
    await customers.get_customer(org_id, customer_id)

    async def rows() -> AsyncIterator[bytes]:
        yield _csv([ORDERS_HEADER])
        after: tuple[datetime, UUID] | None = None
        while True:
            query = Order.objects().where(Order.org == org_id, Order.customer == customer_id)
            if after is not None:
                created, ident = after
                query = query.where(
                    (Order.created_at > created) | ((Order.created_at == created) & (Order.id > ident))
                )
            page = await query.order_by(Order.created_at, Order.id).limit(PAGE)
            yield _csv(
                (
                    o.id,
                    o.invoice_number or "",
                    _moment(o.created_at),
                    o.status,
                    o.billing_reason,
                    o.currency,
                    o.subtotal,
                    o.tax_amount,
                    o.wallet_applied,
                    o.total,
                    o.refunded_amount,
                    _moment(o.paid_at),
                    _moment(o.period_start),
                    _moment(o.period_end),
                )
                for o in page
            )
            if len(page) < PAGE:
                return
            after = (page[-1].created_at, page[-1].id)

    return rows()
