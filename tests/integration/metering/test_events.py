import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from server.clock import FrozenClock, use_clock
from server.db.tables import Customer, UsageEvent, UsageRollup
from server.errors import Invalid
from server.metering import service as usage
from server.metering.service import UsageEventIn, ingest_events, usage_totals
from server.organizations.service import create_organization
from tests.integration.factories import make_customer

START = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


async def test_events_are_rolled_up_per_utc_day_and_summed_per_period(org):
    org_id = org.org.id
    customer = await make_customer(org_id, external_id="acct-1")
    events = [
        UsageEventIn(name="api_call", customer_id=customer.id, value=5, occurred_at=START),
        UsageEventIn(name="api_call", external_customer_id="acct-1", value=7, occurred_at=START),
        UsageEventIn(
            name="api_call", customer_id=customer.id, value=1, occurred_at=START + timedelta(days=1)
        ),
        UsageEventIn(name="storage", customer_id=customer.id, value=100, occurred_at=START),
    ]
    result = await ingest_events(org_id, events)
    assert (result.inserted, result.duplicates) == (4, 0)
    rollups = await UsageRollup.select(UsageRollup.name, UsageRollup.day, UsageRollup.total).where(
        UsageRollup.customer == customer.id
    )
    assert sorted((r["name"], r["day"], r["total"]) for r in rollups) == [
        ("api_call", "2027-03-10", 12),
        ("api_call", "2027-03-11", 1),
        ("storage", "2027-03-10", 100),
    ]
    totals = await usage_totals(
        org_id, customer.id, ["api_call", "storage", "other"], START, START + timedelta(days=1)
    )
    assert (totals["api_call"].total, totals["api_call"].event_count) == (12, 2)
    assert totals["storage"].total == 100
    assert totals["other"].total == 0


async def test_event_ids_dedupe_within_the_org_and_the_rollup_counts_once(org):
    org_id = org.org.id
    customer = await make_customer(org_id)
    first = [
        UsageEventIn(name="job", customer_id=customer.id, event_id=f"e{i}", occurred_at=START)
        for i in range(3)
    ]
    await ingest_events(org_id, first)
    again = [*first, UsageEventIn(name="job", customer_id=customer.id, event_id="e9", occurred_at=START)]
    result = await ingest_events(org_id, again)
    assert (result.inserted, result.duplicates) == (1, 3)
    totals = await usage_totals(org_id, customer.id, ["job"], START, START + timedelta(days=1))
    assert totals["job"].event_count == 4


async def test_concurrent_batches_with_overlapping_ids_store_each_event_once(org):
    org_id = org.org.id
    customer = await make_customer(org_id)
    batch = [
        UsageEventIn(name="hit", customer_id=customer.id, event_id=f"h{i}", value=2, occurred_at=START)
        for i in range(50)
    ]
    await asyncio.gather(*(ingest_events(org_id, batch) for _ in range(8)))
    assert await UsageEvent.count().where(UsageEvent.customer == customer.id) == 50
    totals = await usage_totals(org_id, customer.id, ["hit"], START, START + timedelta(days=1))
    assert (totals["hit"].total, totals["hit"].event_count) == (100, 50)


async def test_bad_batches_are_refused_whole(org, keyring):
    org_id = org.org.id
    customer = await make_customer(org_id)
    other = await create_organization(keyring, name="Other shop")
    stranger = await make_customer(other.org.id)
    good = UsageEventIn(name="x", customer_id=customer.id)
    cases = {
        "exactly one": [good, UsageEventIn(name="x")],
        "no customer with external id": [good, UsageEventIn(name="x", external_customer_id="missing")],
        f"no customer {stranger.id}": [good, UsageEventIn(name="x", customer_id=stranger.id)],
        "twice": [good, UsageEventIn(name="x", customer_id=customer.id, event_id="a")] * 2,
        "at most 1000": [good] * 1001,
    }
    for message, events in cases.items():
        with pytest.raises(Invalid, match=message):
            await ingest_events(org_id, events)
    assert await UsageEvent.count().where(UsageEvent.customer == customer.id) == 0


def test_inbound_events_forbid_unknown_fields_and_negative_values():
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"name": "x", "customer_id": null, "surprise": 1}', type=UsageEventIn)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"name": "x", "value": -1}', type=UsageEventIn)


async def test_a_naive_timestamp_is_refused(org):
    customer = await make_customer(org.org.id)
    with pytest.raises(Invalid, match="time zone"):
        await ingest_events(
            org.org.id, [UsageEventIn(name="x", customer_id=customer.id, occurred_at=datetime(2027, 1, 1))]
        )


async def _stored_events(org_id):
    return await UsageEvent.select(
        UsageEvent.customer, UsageEvent.name, UsageEvent.dedupe_key, UsageEvent.value
    ).where(UsageEvent.org == org_id)


async def test_keyless_events_always_count_and_ids_dedupe_across_batches(org):
    org_id = org.org.id
    customer = await make_customer(org_id, external_id="acct-mix")
    keyless = UsageEventIn(name="call", external_customer_id="acct-mix", value=1, occurred_at=START)
    first = [keyless, keyless, keyless] + [
        UsageEventIn(name="call", customer_id=customer.id, event_id=key, value=10, occurred_at=START)
        for key in ("a", "b")
    ]
    second = [keyless, keyless] + [
        UsageEventIn(name="call", customer_id=customer.id, event_id=key, value=100, occurred_at=START)
        for key in ("a", "c", "b")
    ]
    assert (await ingest_events(org_id, first)).duplicates == 0
    result = await ingest_events(org_id, second)
    assert (result.inserted, result.duplicates) == (3, 2)
    stored = await _stored_events(org_id)
    assert len(stored) == 8
    assert sorted(r["dedupe_key"] or "" for r in stored) == ["", "", "", "", "", "a", "b", "c"]
    totals = await usage_totals(org_id, customer.id, ["call"], START, START + timedelta(days=1))
    assert (totals["call"].total, totals["call"].event_count) == (3 + 20 + 2 + 100, 8)


async def test_a_full_batch_over_many_customers_rolls_up_exactly(org):
    org_id = org.org.id
    customers = [await make_customer(org_id, external_id=f"many-{n}") for n in range(4)]
    events = [
        UsageEventIn(name="req", customer_id=customers[i % 4].id, value=i, occurred_at=START)
        if i % 2
        else UsageEventIn(name="req", external_customer_id=f"many-{i % 4}", value=i, occurred_at=START)
        for i in range(1000)
    ]
    assert (await ingest_events(org_id, events)).inserted == 1000
    for n, customer in enumerate(customers):
        totals = await usage_totals(org_id, customer.id, ["req"], START, START + timedelta(days=1))
        expected = [i for i in range(1000) if i % 4 == n]
        assert (totals["req"].total, totals["req"].event_count) == (sum(expected), len(expected))


async def test_events_are_stored_as_sent_and_as_piccolo_writes_timestamps(org):
    org_id = org.org.id
    customer = await make_customer(org_id)
    late_evening_utc = datetime(2027, 3, 11, 2, 30, 15, 250000, tzinfo=timezone(timedelta(hours=5)))
    metadata = {"region": 'zürich "eu"\n', "ratio": 0.1 + 0.2, "count": 3, "ok": True}
    now = datetime(2027, 3, 12, 9, 0, 0, 123456, tzinfo=UTC)
    events = [
        UsageEventIn(
            name="gb",
            customer_id=customer.id,
            value=10**12,
            occurred_at=late_evening_utc,
            event_id="k-1",
            metadata=metadata,
        ),
        UsageEventIn(name="gb", customer_id=customer.id),
    ]
    with use_clock(FrozenClock(now)):
        await ingest_events(org_id, events)
    twin = UsageEvent(
        org=org_id, customer=customer.id, name="twin", value=1, occurred_at=late_evening_utc, ingested_at=now
    )
    await twin.save()

    rows = await UsageEvent.raw(
        "SELECT name, dedupe_key, value, CAST(occurred_at AS TEXT) AS occurred, "
        "CAST(ingested_at AS TEXT) AS ingested, CAST(metadata AS TEXT) AS metadata "
        "FROM ss_usage_event WHERE customer = {} ORDER BY dedupe_key, name",
        customer.id,
    )
    sent, defaulted, piccolo = sorted(rows, key=lambda r: (r["dedupe_key"] is None, r["name"]))
    assert (sent["name"], sent["dedupe_key"], sent["value"]) == ("gb", "k-1", 10**12)
    assert msgspec.json.decode(sent["metadata"]) == metadata
    assert sent["metadata"] == msgspec.json.encode(metadata).decode()
    assert defaulted["metadata"] == "{}"
    assert sent["occurred"] == piccolo["occurred"]
    assert sent["ingested"] == defaulted["ingested"] == piccolo["ingested"]
    assert defaulted["occurred"] == piccolo["ingested"]
    instants = await UsageEvent.select(UsageEvent.occurred_at).where(UsageEvent.dedupe_key == "k-1")
    assert instants[0]["occurred_at"] == late_evening_utc
    rollups = await UsageRollup.select(UsageRollup.day, UsageRollup.total).where(
        UsageRollup.customer == customer.id
    )
    assert sorted((r["day"], r["total"]) for r in rollups) == [("2027-03-10", 10**12), ("2027-03-12", 1)]


async def test_a_bad_last_event_refuses_a_full_batch(org):
    org_id = org.org.id
    customer = await make_customer(org_id)
    good = [UsageEventIn(name="x", customer_id=customer.id, occurred_at=START) for _ in range(999)]
    for bad in (
        UsageEventIn(name="x", customer_id=customer.id, occurred_at=datetime(2027, 1, 1)),
        UsageEventIn(name="x", external_customer_id="nobody"),
    ):
        with pytest.raises(Invalid):
            await ingest_events(org_id, [*good, bad])
    assert await _stored_events(org_id) == []
    assert await UsageRollup.count().where(UsageRollup.customer == customer.id) == 0


async def test_a_failure_after_the_writes_rolls_the_whole_batch_back(org, monkeypatch):
    org_id = org.org.id
    customer = await make_customer(org_id)
    await ingest_events(org_id, [UsageEventIn(name="x", customer_id=customer.id, occurred_at=START)])
    add_to_rollup = usage._add_to_rollup

    async def written_then_failed(*args, **kwargs):
        await add_to_rollup(*args, **kwargs)
        raise RuntimeError("the connection dropped")

    monkeypatch.setattr(usage, "_add_to_rollup", written_then_failed)
    batch = [
        UsageEventIn(name="x", customer_id=customer.id, event_id=f"f{i}", occurred_at=START) for i in range(3)
    ]
    with pytest.raises(RuntimeError):
        await ingest_events(org_id, batch)
    monkeypatch.undo()
    assert len(await _stored_events(org_id)) == 1
    totals = await usage_totals(org_id, customer.id, ["x"], START, START + timedelta(days=1))
    assert (totals["x"].total, totals["x"].event_count) == (1, 1)
    assert (await ingest_events(org_id, batch)).inserted == 3


async def test_event_ids_are_uuids_that_sort_in_ingestion_order(org):
    org_id = org.org.id
    customer = await make_customer(org_id)
    batch = [UsageEventIn(name="x", customer_id=customer.id, occurred_at=START) for _ in range(500)]
    ids = []
    with use_clock(FrozenClock(START)) as frozen:
        for _ in range(2):
            await ingest_events(org_id, batch)
            rows = await UsageEvent.select(UsageEvent.id).where(UsageEvent.org == org_id)
            ids.append({uuid.UUID(str(r["id"])) for r in rows} - {i for earlier in ids for i in earlier})
            frozen.advance(timedelta(milliseconds=1))
    first, second = ids
    assert len(first) == len(second) == 500
    assert {i.version for i in first | second} == {7}
    assert max(str(i) for i in first) < min(str(i) for i in second)


async def test_a_deleted_customer_refuses_the_batch_by_id_and_by_external_id(org):
    org_id = org.org.id
    live = await make_customer(org_id, external_id="live")
    gone = await make_customer(org_id, external_id="gone")
    await Customer.update({Customer.deleted_at: START}).where(Customer.id == gone.id)
    good = UsageEventIn(name="x", external_customer_id="live")
    for bad, message in (
        (UsageEventIn(name="x", customer_id=gone.id), f"no customer {gone.id}"),
        (UsageEventIn(name="x", external_customer_id="gone"), "no customer with external id 'gone'"),
    ):
        with pytest.raises(Invalid, match=message):
            await ingest_events(org_id, [good, bad])
    assert await UsageEvent.count().where(UsageEvent.org == org_id) == 0
    assert (await ingest_events(org_id, [good, UsageEventIn(name="x", customer_id=live.id)])).inserted == 2


async def test_text_with_a_nul_character_is_refused_but_metadata_keeps_it(org):
    org_id = org.org.id
    customer = await make_customer(org_id, external_id="ext")
    for bad in (
        UsageEventIn(name="x\x00y", customer_id=customer.id),
        UsageEventIn(name="x", customer_id=customer.id, event_id="e\x00"),
        UsageEventIn(name="x", external_customer_id="ext\x00other"),
    ):
        with pytest.raises(Invalid, match="U\\+0000"):
            await ingest_events(org_id, [UsageEventIn(name="x", customer_id=customer.id), bad])
    assert await UsageEvent.count().where(UsageEvent.org == org_id) == 0
    metadata = {"note\x00": "a\x00b"}
    await ingest_events(org_id, [UsageEventIn(name="x", customer_id=customer.id, metadata=metadata)])
    stored = await UsageEvent.select(UsageEvent.metadata).where(UsageEvent.org == org_id)
    assert msgspec.json.decode(stored[0]["metadata"]) == metadata


async def test_concurrent_batches_naming_the_same_ids_and_customers_in_opposite_orders_all_succeed(org):
    org_id = org.org.id
    customers = [await make_customer(org_id) for _ in range(20)]
    batch = [
        UsageEventIn(name="hit", customer_id=customers[i % 20].id, event_id=f"o{i}", occurred_at=START)
        for i in range(200)
    ]
    results = await asyncio.gather(
        *(ingest_events(org_id, batch if n % 2 else batch[::-1]) for n in range(8))
    )
    assert sum(r.inserted for r in results) == 200
    assert sum(r.duplicates for r in results) == 7 * 200
    for customer in customers:
        totals = await usage_totals(org_id, customer.id, ["hit"], START, START + timedelta(days=1))
        assert totals["hit"].event_count == 10


async def test_a_meter_period_reads_against_what_is_included_with_levels_and_every_day(org):
    org_id = org.org.id
    customer = await make_customer(org_id)
    await ingest_events(
        org_id,
        [
            UsageEventIn(name="api_call", customer_id=customer.id, value=300, occurred_at=START),
            UsageEventIn(
                name="api_call", customer_id=customer.id, value=260, occurred_at=START + timedelta(2)
            ),
        ],
    )

    async def period(included: int, limit: int | None, count_events: bool = False) -> usage.MeterPeriodUsage:
        with use_clock(FrozenClock(START + timedelta(days=3))):
            return await usage.meter_period_usage(
                org_id,
                customer.id,
                event_name="api_call",
                count_events=count_events,
                included=included,
                limit=limit,
                period_start=START - timedelta(days=1),
                period_end=START + timedelta(days=29),
            )

    seen = await period(1000, 100_000)
    assert (seen.used, seen.percent_of_included, seen.percent_of_limit, seen.level) == (560, 56, 1, "ok")
    assert [(d.day.day, d.value) for d in seen.days] == [(9, 0), (10, 300), (11, 0), (12, 260), (13, 0)]
    assert (await period(700, None)).level == "warning"  # 80 %
    over = await period(500, None)
    assert (over.level, over.overage_units, over.percent_of_limit) == ("over", 60, None)
    assert (await period(0, 560)).level == "capped"
    assert (await period(0, None)).percent_of_included is None
    assert (await period(2, None, count_events=True)).used == 2
