"""The state change and its event commit together: faults injected at random points of a transaction that
changes a row and records its event leave either both or neither (0 orphans either way)."""

import contextlib
import uuid
from unittest import mock

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import clock
from server.db.engine import write_transaction
from server.db.tables import Customer, WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.webhooks.outbox import record_event

FAULT_POINTS = (None, "before_change", "after_change", "inside_record", "after_record")


class InjectedFault(Exception):
    pass


def _fault_at(point, here):
    if point == here:
        raise InjectedFault(here)


async def _change_and_record(org_id, customer_id, fault):
    async def change():
        now = clock.now()
        await Customer.insert(
            Customer(
                id=customer_id, org=org_id, email=f"{customer_id}@example.com", created_at=now, updated_at=now
            )
        )
        _fault_at(fault, "after_change")

    async def record():
        failing_fanout = mock.patch.object(
            WebhookDelivery, "insert", side_effect=InjectedFault("inside_record")
        )
        with failing_fanout if fault == "inside_record" else contextlib.nullcontext():
            await record_event(org_id, "customer.created", {"id": str(customer_id)})
        _fault_at(fault, "after_record")

    async with write_transaction():
        _fault_at(fault, "before_change")
        await change()  # the event describes a row that exists (the activity log references it)
        await record()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.sampled_from(FAULT_POINTS), min_size=1, max_size=8))
async def test_no_orphan_rows_or_events_whatever_fails(org, make_endpoint, plan):
    org_id = org.org.id
    if not await WebhookEndpoint.exists().where(WebhookEndpoint.org == org_id):
        await make_endpoint("https://receiver.invalid/hook")  # so every event also fans out a delivery
    committed = set()
    for fault in plan:
        customer_id = uuid.uuid4()
        try:
            await _change_and_record(org_id, customer_id, fault)
            committed.add(str(customer_id))
        except InjectedFault:
            assert fault is not None
    customers = {str(c["id"]) for c in await Customer.select(Customer.id).where(Customer.org == org_id)}
    events = await WebhookEvent.select().where(
        WebhookEvent.org == org_id, WebhookEvent.type == "customer.created"
    )
    described = {msgspec.json.decode(e["payload"])["id"] for e in events}
    assert committed <= customers
    assert customers == described, "a customer without its event, or an event without its customer"
    assert len(events) == len(described)
    deliveries = await WebhookDelivery.select(WebhookDelivery.event).where(WebhookDelivery.org == org_id)
    assert sorted(str(d["event"]) for d in deliveries) == sorted(str(e["id"]) for e in events)
