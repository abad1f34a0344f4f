"""``insert_rows``: many rows in one go on the driver, all or none, and inside a transaction part of it."""

import uuid
from datetime import UTC, datetime

import pytest

from server.db.engine import insert_rows, write_transaction
from server.db.tables import PortalEvent
from tests.integration.billing.subscription_factories import make_customer

COLUMNS = ("id", "org", "customer", "actor", "name", "properties", "created_at")


def event(org_id, customer_id, name="view.opened"):
    return (uuid.uuid4(), org_id, customer_id, "customer", name, '{"view": "usage"}', datetime.now(UTC))


@pytest.fixture
async def customer(org):
    return await make_customer(org.org.id)


async def stored(org_id):
    return await PortalEvent.select().where(PortalEvent.org == org_id)


async def test_rows_arrive_with_their_types(org, customer):
    await insert_rows(PortalEvent, COLUMNS, [event(org.org.id, customer.id) for _ in range(300)])
    rows = await stored(org.org.id)
    assert len(rows) == 300
    assert {str(r["customer"]) for r in rows} == {str(customer.id)}
    assert all(isinstance(r["created_at"], datetime) for r in rows)


async def test_one_bad_row_stores_none(org, customer):
    rows = [event(org.org.id, customer.id), event(org.org.id, uuid.uuid4()), event(org.org.id, customer.id)]
    with pytest.raises(Exception):  # noqa: PT011 - the driver's own foreign key error
        await insert_rows(PortalEvent, COLUMNS, rows)
    assert await stored(org.org.id) == []


async def test_inside_a_transaction_it_is_part_of_it(org, customer):
    seen_inside = []

    async def insert_then_fail():
        async with write_transaction():
            await insert_rows(PortalEvent, COLUMNS, [event(org.org.id, customer.id)])
            seen_inside.append(len(await stored(org.org.id)))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await insert_then_fail()
    assert seen_inside == [1]
    assert await stored(org.org.id) == []
