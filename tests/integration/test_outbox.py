import msgspec
import pytest

from server import clock
from server.db.engine import write_transaction
from server.db.tables import WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.webhooks.outbox import record_event


async def _endpoint(org_id, event_types, enabled=True):
    endpoint = WebhookEndpoint(
        org=org_id,
        url="https://hooks.example.com/x",
        event_types=event_types,
        enabled=enabled,
        secret_encrypted="x",
        created_at=clock.now(),
    )
    await endpoint.save()
    return endpoint


async def test_event_fans_out_to_subscribed_enabled_endpoints(org):
    org_id = org.org.id
    everything = await _endpoint(org_id, [])
    orders_only = await _endpoint(org_id, ["order.paid"])
    await _endpoint(org_id, [], enabled=False)
    async with write_transaction():
        event = await record_event(org_id, "subscription.canceled", {"id": "sub_1", "status": "canceled"})
    deliveries = await WebhookDelivery.select().where(WebhookDelivery.event == event.id)
    assert [d["endpoint"] for d in deliveries] == [everything.id]
    assert all(d["status"] == "pending" for d in deliveries)
    stored = await WebhookEvent.select().where(WebhookEvent.id == event.id).first()
    assert msgspec.json.decode(stored["payload"]) == {"id": "sub_1", "status": "canceled"}
    assert orders_only.id not in {d["endpoint"] for d in deliveries}


async def test_event_rolls_back_with_its_transaction(org):
    class Boom(Exception):
        pass

    before = await WebhookEvent.count().where(WebhookEvent.org == org.org.id)

    async def change_then_fail():
        async with write_transaction():
            await record_event(org.org.id, "customer.updated", {"id": "c"})
            raise Boom

    with pytest.raises(Boom):
        await change_then_fail()
    assert await WebhookEvent.count().where(WebhookEvent.org == org.org.id) == before


async def test_unknown_event_type_is_refused(org):
    with pytest.raises(ValueError, match="unknown event type"):
        await record_event(org.org.id, "nope.happened", {})
