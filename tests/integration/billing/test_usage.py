import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from server.db.tables import UsageEvent, UsageRollup
from server.errors import Invalid
from server.services.orgs import create_organization
from server.services.usage import UsageEventIn, ingest_events, usage_totals
from tests.integration.billing.subscription_factories import make_customer

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
