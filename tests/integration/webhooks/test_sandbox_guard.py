"""The suite-wide guard in tests/conftest.py: a webhook registered for a public address is never sent from a
test run (this machine may only talk to itself)."""

from server.db.engine import write_transaction
from server.db.tables import WebhookAttempt, WebhookDelivery
from server.webhooks.delivery import deliver_due, drain
from server.webhooks.endpoints import create_endpoint
from server.webhooks.outbox import record_event
from server.webhooks.schemas import WebhookEndpointCreate
from server.worker import JobContext


async def test_a_public_receiver_is_refused_before_any_connection(org, keyring, settings):
    endpoint, _secret = await create_endpoint(
        org.org.id, keyring, WebhookEndpointCreate(url="https://93.184.216.34/hook"), allow_local=False
    )
    async with write_transaction():
        await record_event(org.org.id, "customer.updated", {"id": "c"})
    assert await deliver_due(JobContext(settings=settings, keyring=keyring), org_id=org.org.id) == 1
    await drain()
    delivery = await WebhookDelivery.objects().where(WebhookDelivery.endpoint == endpoint.id).first()
    assert delivery.status == "pending"
    attempt = await WebhookAttempt.objects().where(WebhookAttempt.delivery == delivery.id).first()
    assert attempt.status_code is None
    assert "loopback only" in attempt.error
