"""Usage events: batch ingestion with dedupe, rolled up per (customer, event name, UTC day) in the same
transaction, and period totals read from the rollup only (never from raw events)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from server import clock
from server.db.engine import write_transaction
from server.db.tables import Customer, UsageEvent, UsageRollup
from server.errors import Invalid

MAX_EVENTS_PER_CALL = 1000
_EVENT_COLUMNS = 9

EventName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class UsageEventIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One usage event, addressed by ``customer_id`` or ``external_customer_id`` (exactly one).

    ``event_id`` is the sender's id: an event whose id the org already has is skipped, so retries are safe.
    """

    name: EventName
    customer_id: UUID | None = None
    external_customer_id: str | None = None
    value: Annotated[int, msgspec.Meta(ge=0, le=10**12)] = 1
    occurred_at: datetime | None = None
    event_id: EventId | None = None
    metadata: dict[str, str | int | float | bool] = msgspec.field(default_factory=dict)


class IngestResult(msgspec.Struct, kw_only=True):
    inserted: int
    duplicates: int


class Totals(msgspec.Struct, kw_only=True):
    """The sum of event values and the number of events (a meter aggregates by one or the other)."""

    total: int = 0
    event_count: int = 0


async def _resolve_customers(org_id: UUID, events: list[UsageEventIn]) -> list[UUID]:
    """The customer id of every event, in order; any unknown or ambiguous address refuses the whole batch."""
    ids = {e.customer_id for e in events if e.customer_id is not None}
    external_ids = {e.external_customer_id for e in events if e.external_customer_id is not None}
    by_id: set[str] = set()
    by_external: dict[str, UUID] = {}
    if ids:
        rows = await Customer.select(Customer.id).where(
            Customer.org == org_id, Customer.id.is_in(list(ids)), Customer.deleted_at.is_null()
        )
        by_id = {str(r["id"]) for r in rows}
    if external_ids:
        rows = await Customer.select(Customer.id, Customer.external_id).where(
            Customer.org == org_id,
            Customer.external_id.is_in(list(external_ids)),
            Customer.deleted_at.is_null(),
        )
        by_external = {r["external_id"]: uuid.UUID(str(r["id"])) for r in rows}
    resolved: list[UUID] = []
    for index, event in enumerate(events):
        if (event.customer_id is None) == (event.external_customer_id is None):
            raise Invalid(f"event {index}: give exactly one of customer_id and external_customer_id")
        if event.customer_id is not None:
            if str(event.customer_id) not in by_id:
                raise Invalid(f"event {index}: no customer {event.customer_id}")
            resolved.append(event.customer_id)
        else:
            found = by_external.get(event.external_customer_id or "")
            if found is None:
                raise Invalid(f"event {index}: no customer with external id {event.external_customer_id!r}")
            resolved.append(found)
    return resolved


async def ingest_events(org_id: UUID, events: list[UsageEventIn]) -> IngestResult:
    """Store up to 1,000 events in one INSERT, skipping ids already seen, and add them to the daily rollup
    in the same transaction. Bad input refuses the whole batch and stores nothing."""
    if not events:
        return IngestResult(inserted=0, duplicates=0)
    if len(events) > MAX_EVENTS_PER_CALL:
        raise Invalid(f"send at most {MAX_EVENTS_PER_CALL} events per call, not {len(events)}")
    keys = [e.event_id for e in events if e.event_id is not None]
    if len(keys) != len(set(keys)):
        raise Invalid("an event_id appears twice in this batch")
    now = clock.now()
    args: list[Any] = []
    for event, customer_id in zip(events, await _resolve_customers(org_id, events), strict=True):
        occurred = event.occurred_at or now
        if occurred.tzinfo is None:
            raise Invalid("occurred_at needs a time zone (use UTC, e.g. 2026-01-31T12:00:00Z)")
        args += [
            uuid.uuid4(),
            org_id,
            customer_id,
            event.name,
            event.event_id,
            event.value,
            occurred,
            now,
            msgspec.json.encode(event.metadata).decode(),
        ]
    insert = (
        "INSERT INTO ss_usage_event (id, org, customer, name, dedupe_key, value, occurred_at, ingested_at, "  # noqa: S608 (placeholders only)
        f"metadata) VALUES {_placeholders(len(events), _EVENT_COLUMNS)} ON CONFLICT DO NOTHING RETURNING id"
    )
    async with write_transaction():
        inserted_ids = {str(r["id"]) for r in await UsageEvent.raw(insert, *args)}
        rollup: dict[tuple[str, str, str], Totals] = defaultdict(Totals)
        for offset in range(0, len(args), _EVENT_COLUMNS):
            event_id, _, customer_id, name, _, value, occurred, _, _ = args[offset : offset + _EVENT_COLUMNS]
            if str(event_id) in inserted_ids:
                totals = rollup[(str(customer_id), name, utc_day(occurred))]
                totals.total += value
                totals.event_count += 1
        await _add_to_rollup(org_id, rollup)
    return IngestResult(inserted=len(inserted_ids), duplicates=len(events) - len(inserted_ids))


def _placeholders(rows: int, columns: int) -> str:
    """``({}, {}), ({}, {})``: the VALUES of a multi-row INSERT whose values are all bound parameters."""
    return ", ".join(["(" + ", ".join(["{}"] * columns) + ")"] * rows)


async def _add_to_rollup(org_id: UUID, rollup: dict[tuple[str, str, str], Totals]) -> None:
    if not rollup:
        return
    args: list[Any] = []
    for (customer_id, name, day), totals in rollup.items():
        args += [uuid.uuid4(), org_id, uuid.UUID(customer_id), name, day, totals.total, totals.event_count]
    await UsageRollup.raw(
        "INSERT INTO ss_usage_rollup (id, org, customer, name, day, total, event_count) "  # noqa: S608 (placeholders only)
        f"VALUES {_placeholders(len(rollup), 7)} ON CONFLICT (customer, name, day) DO UPDATE SET "
        "total = ss_usage_rollup.total + excluded.total, "
        "event_count = ss_usage_rollup.event_count + excluded.event_count",
        *args,
    )


def utc_day(moment: datetime) -> str:
    """The UTC calendar day a moment falls on, as the rollup stores it (YYYY-MM-DD)."""
    return moment.astimezone(UTC).date().isoformat()


async def usage_totals(
    org_id: UUID, customer_id: UUID, names: list[str], period_start: datetime, period_end: datetime
) -> dict[str, Totals]:
    """Usage per event name in a billing period: the UTC days from the start's day up to (not including) the
    end's day, read from the rollup. Every name asked for is in the result (zero when nothing happened)."""
    result = {name: Totals() for name in names}
    if not names:
        return result
    rows = await UsageRollup.select(UsageRollup.name, UsageRollup.total, UsageRollup.event_count).where(
        UsageRollup.org == org_id,
        UsageRollup.customer == customer_id,
        UsageRollup.name.is_in(list(names)),
        UsageRollup.day >= utc_day(period_start),
        UsageRollup.day < utc_day(period_end),
    )
    for row in rows:
        totals = result[row["name"]]
        totals.total += row["total"]
        totals.event_count += row["event_count"]
    return result


async def daily_usage(
    org_id: UUID, customer_id: UUID, name: str, first_day: datetime, end: datetime
) -> dict[str, Totals]:
    """Per UTC day from ``first_day``'s day up to (not including) ``end``'s day, for trend charts; days
    without events are absent."""
    rows = await UsageRollup.select(UsageRollup.day, UsageRollup.total, UsageRollup.event_count).where(
        UsageRollup.org == org_id,
        UsageRollup.customer == customer_id,
        UsageRollup.name == name,
        UsageRollup.day >= utc_day(first_day),
        UsageRollup.day < utc_day(end),
    )
    return {row["day"]: Totals(total=row["total"], event_count=row["event_count"]) for row in rows}
