import asyncio
import logging
import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import msgspec
import standardwebhooks
from werkzeug import Response

from server import clock
from server.db.engine import write_transaction
from server.db.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.webhooks.delivery import MAX_ATTEMPTS, deliver_due, drain, lease_due
from server.webhooks.endpoints import redeliver
from server.webhooks.outbox import EVENT_TYPES, record_event
from server.webhooks.signing import message_body
from tests.integration.webhooks.support import deliver_until_settled, statuses


def _random_payload(rng: random.Random, n: int) -> dict:
    text = "".join(rng.choice("aé€😀\"\\\n<>&' z") for _ in range(rng.randint(0, 30)))
    return {
        "id": f"obj_{n}",
        "status": rng.choice(["active", "canceled", "paid"]),
        "amount": rng.randint(0, 10**12),
        "note": text,
        "items": [
            {"quantity": rng.randint(1, 9), "flag": rng.random() < 0.5} for _ in range(rng.randint(0, 3))
        ],
        "metadata": {text[:5] or "k": None},
    }


class Receiver:
    """A pytest-httpserver route that records every request and answers as ``answer(webhook_id, n)`` says,
    ``n`` being how many times it has seen that webhook-id before."""

    def __init__(self, httpserver, path, answer=lambda webhook_id, n: Response("ok")):
        self.requests = []
        self.seen = Counter()
        self._lock = threading.Lock()
        self._answer = answer
        self.url = httpserver.url_for(path)
        httpserver.expect_request(path, method="POST").respond_with_handler(self._handle)

    def _handle(self, request):
        webhook_id = request.headers["webhook-id"]
        with self._lock:
            n = self.seen[webhook_id]
            self.seen[webhook_id] += 1
            response = self._answer(webhook_id, n)
            self.requests.append((dict(request.headers), request.get_data(), response.status_code))
        return response

    def successes(self):
        return Counter(h["Webhook-Id"] for h, _, status in self.requests if 200 <= status < 300)


async def test_a_thousand_generated_events_verify_byte_for_byte(org, httpserver, make_endpoint, job_context):
    receiver = Receiver(httpserver, "/all")
    _, secret = await make_endpoint(receiver.url)
    rng = random.Random(8)
    sent = {}
    async with write_transaction():
        for n in range(1000):
            type = EVENT_TYPES[n % len(EVENT_TYPES)]
            event = await record_event(org.org.id, type, _random_payload(rng, n))
            sent[str(event.id)] = event
    await deliver_until_settled(job_context, org.org.id)

    assert len(receiver.requests) == 1000
    verifier = standardwebhooks.Webhook(secret)
    for headers, body, _ in receiver.requests:
        event = sent[headers["Webhook-Id"]]
        payload = verifier.verify(body, headers)
        data = msgspec.json.decode(event.payload) if isinstance(event.payload, str) else event.payload
        assert body == message_body(event.type, event.created_at, data)
        assert payload == {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data}
    assert {h["Webhook-Id"] for h, _, _ in receiver.requests} == set(sent)
    assert {msgspec.json.decode(b)["type"] for _, b, _ in receiver.requests} == set(EVENT_TYPES)
    assert await statuses(org.org.id) == {"succeeded": 1000}


async def test_receivers_failing_k_times_get_each_event_exactly_once(
    org, httpserver, make_endpoint, job_context
):
    """Endpoint k fails the first k attempts of every event (k = 0…9), endpoint 10 fails them all."""
    receivers = {}
    for k in range(11):
        receivers[k] = Receiver(
            httpserver,
            f"/flaky/{k}",
            lambda webhook_id, n, k=k: Response("down", status=503) if n < k else Response("ok"),
        )
        await make_endpoint(receivers[k].url, description=f"fails {k} times")
    frozen = clock.FrozenClock(datetime.now(UTC))
    with clock.use_clock(frozen):
        async with write_transaction():
            events = [
                await record_event(org.org.id, type, {"id": type})
                for type in ("order.paid", "customer.updated")
            ]
        await deliver_until_settled(job_context, org.org.id, step=lambda: frozen.advance(timedelta(days=2)))
    ids = {str(e.id) for e in events}

    for k in range(10):
        assert receivers[k].successes() == {i: 1 for i in ids}, k
        assert receivers[k].seen == {i: k + 1 for i in ids}, k
    assert receivers[10].successes() == {}
    assert receivers[10].seen == {i: MAX_ATTEMPTS for i in ids}
    assert await statuses(org.org.id) == {"succeeded": 20, "failed": 2}
    deliveries = await WebhookDelivery.objects().where(WebhookDelivery.org == org.org.id)
    for delivery in deliveries:
        attempts = await WebhookAttempt.count().where(WebhookAttempt.delivery == delivery.id)
        assert attempts == delivery.attempts
    failed = [d for d in deliveries if d.status == "failed"]
    assert all(d.attempts == MAX_ATTEMPTS and d.last_status_code == 503 for d in failed)

    # the receiver is fixed; the failed deliveries are redelivered with the same webhook-id
    receivers[10]._answer = lambda webhook_id, n: Response("ok")
    for delivery in failed:
        await redeliver(org.org.id, delivery.id)
    await deliver_until_settled(job_context, org.org.id)
    assert receivers[10].successes() == {i: 1 for i in ids}
    assert await statuses(org.org.id) == {"succeeded": 22}
    total_events = await WebhookEvent.count().where(WebhookEvent.org == org.org.id)
    assert total_events * 11 == sum((await statuses(org.org.id)).values())


async def test_410_disables_the_endpoint_and_tells_the_merchant(
    org, httpserver, make_endpoint, job_context, caplog
):
    gone = Receiver(httpserver, "/gone", lambda webhook_id, n: Response("bye", status=410))
    watcher = Receiver(httpserver, "/watcher")
    endpoint, _ = await make_endpoint(gone.url)
    await make_endpoint(watcher.url, event_types=["webhook_endpoint.disabled"])
    async with write_transaction():
        await record_event(org.org.id, "order.paid", {"id": "o1"})
        await record_event(org.org.id, "order.paid", {"id": "o2"})
    with caplog.at_level(logging.WARNING, logger="selfserve.webhooks"):
        await deliver_until_settled(job_context, org.org.id)

    row = await WebhookEndpoint.objects().where(WebhookEndpoint.id == endpoint.id).first()
    assert not row.enabled
    assert "410" in row.disabled_reason
    assert any("disabled" in r.message and str(endpoint.id) in r.message for r in caplog.records)
    notices = [msgspec.json.decode(b) for _, b, _ in watcher.requests]
    assert [(n["type"], n["data"]["id"]) for n in notices] == [
        ("webhook_endpoint.disabled", str(endpoint.id))
    ]
    ours = await WebhookDelivery.objects().where(WebhookDelivery.endpoint == endpoint.id)
    assert [d.status for d in ours] == ["failed", "failed"]
    assert len(gone.requests) <= 2
    # a disabled endpoint gets nothing new, and redelivery asks to enable it first
    async with write_transaction():
        await record_event(org.org.id, "order.paid", {"id": "o3"})
    assert await WebhookDelivery.count().where(WebhookDelivery.endpoint == endpoint.id) == 2


async def test_ten_deliveries_failing_for_good_in_a_row_disable_the_endpoint(
    org, httpserver, make_endpoint, job_context
):
    down = Receiver(httpserver, "/down", lambda webhook_id, n: Response("no", status=500))
    endpoint, _ = await make_endpoint(down.url)
    async with write_transaction():
        for n in range(10):
            await record_event(org.org.id, "customer.updated", {"id": f"c{n}"})
    # skip the three days of retries: each delivery is at its last attempt
    await WebhookDelivery.update({WebhookDelivery.attempts: MAX_ATTEMPTS - 1}).where(
        WebhookDelivery.endpoint == endpoint.id
    )
    await deliver_until_settled(job_context, org.org.id)
    row = await WebhookEndpoint.objects().where(WebhookEndpoint.id == endpoint.id).first()
    assert (row.enabled, row.consecutive_failures) == (False, 10)
    assert (
        len(
            await WebhookEvent.select().where(
                WebhookEvent.org == org.org.id, WebhookEvent.type == "webhook_endpoint.disabled"
            )
        )
        == 1
    )


async def test_redirects_are_not_followed(org, httpserver, make_endpoint, job_context):
    target = Receiver(httpserver, "/target")
    redirect = Receiver(
        httpserver,
        "/redirect",
        lambda webhook_id, n: Response("", status=307, headers={"Location": target.url}),
    )
    await make_endpoint(redirect.url)
    async with write_transaction():
        await record_event(org.org.id, "order.refunded", {"id": "o1"})
    await deliver_due(job_context, org_id=org.org.id)
    delivery = await WebhookDelivery.objects().where(WebhookDelivery.org == org.org.id).first()
    assert target.requests == []
    assert (delivery.status, delivery.last_status_code) == ("pending", 307)
    assert "redirect" in delivery.last_error


async def test_retry_after_is_honoured(org, httpserver, make_endpoint, job_context):
    busy = Receiver(
        httpserver, "/busy", lambda webhook_id, n: Response("", status=429, headers={"Retry-After": "7200"})
    )
    await make_endpoint(busy.url)
    frozen = clock.FrozenClock(datetime.now(UTC))
    with clock.use_clock(frozen):
        async with write_transaction():
            await record_event(org.org.id, "order.created", {"id": "o1"})
        await deliver_due(job_context, org_id=org.org.id)
        delivery = await WebhookDelivery.objects().where(WebhookDelivery.org == org.org.id).first()
        assert delivery.next_attempt_at >= frozen.now() + timedelta(hours=2)
        frozen.advance(timedelta(hours=1, minutes=59))
        await deliver_due(job_context, org_id=org.org.id)
    assert len(busy.requests) == 1


async def test_unsafe_targets_are_refused_at_send_time(org, httpserver, make_endpoint, job_context):
    """The endpoint was registered while localhost was allowed; a worker without that setting refuses."""
    import dataclasses

    receiver = Receiver(httpserver, "/local")
    await make_endpoint(receiver.url)
    async with write_transaction():
        await record_event(org.org.id, "order.paid", {"id": "o1"})
    strict = dataclasses.replace(
        job_context, settings=dataclasses.replace(job_context.settings, allow_local_webhooks=False)
    )
    await deliver_due(strict, org_id=org.org.id)
    delivery = await WebhookDelivery.objects().where(WebhookDelivery.org == org.org.id).first()
    assert receiver.requests == []
    assert delivery.last_status_code is None
    assert "UnsafeWebhookTarget" in delivery.last_error
    attempt = await WebhookAttempt.objects().where(WebhookAttempt.delivery == delivery.id).first()
    assert attempt.status_code is None
    assert attempt.error == delivery.last_error


async def test_a_hanging_receiver_does_not_hold_up_another_endpoint(
    org, httpserver, make_endpoint, job_context
):
    hung_requests = []

    async def hang(reader, writer):
        hung_requests.append(writer)
        await asyncio.sleep(3600)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fast = Receiver(httpserver, "/fast")
    hanging_endpoint, _ = await make_endpoint(
        f"http://127.0.0.1:{port}/hook", event_types=["subscription.created"]
    )
    fast_endpoint, _ = await make_endpoint(fast.url)
    try:
        async with write_transaction():
            await record_event(org.org.id, "subscription.created", {"id": "s1"})
        await deliver_due(job_context, org_id=org.org.id)  # returns while the hanging request is still open
        async with write_transaction():
            await record_event(org.org.id, "order.paid", {"id": "o1"})  # only for the fast endpoint
        await deliver_due(job_context, org_id=org.org.id)

        assert len(hung_requests) == 1, "the hanging receiver still holds the first request"
        fast_deliveries = await WebhookDelivery.objects().where(WebhookDelivery.endpoint == fast_endpoint.id)
        assert [d.status for d in fast_deliveries] == ["succeeded", "succeeded"]
        assert sorted(msgspec.json.decode(b)["type"] for _, b, _ in fast.requests) == [
            "order.paid",
            "subscription.created",
        ]
        hung = await WebhookDelivery.objects().where(WebhookDelivery.endpoint == hanging_endpoint.id).first()
        assert (hung.status, hung.attempts, hung.locked_until is not None) == ("pending", 0, True)
    finally:
        for writer in hung_requests:
            writer.close()
        server.close()
    await drain()
    hung = await WebhookDelivery.objects().where(WebhookDelivery.endpoint == hanging_endpoint.id).first()
    assert (hung.status, hung.attempts, hung.last_status_code) == ("pending", 1, None)


async def test_two_workers_never_lease_the_same_delivery(org, make_endpoint):
    endpoints = [(await make_endpoint(f"https://receiver-{n}.invalid/hook"))[0] for n in range(1, 11)]
    async with write_transaction():
        for n in range(3):
            await record_event(org.org.id, "order.paid", {"id": f"o{n}"})
    ours = {
        d["id"]
        for d in await WebhookDelivery.select(WebhookDelivery.id).where(WebhookDelivery.org == org.org.id)
    }
    assert len(ours) == 30
    assert len(endpoints) == 10
    leases = await asyncio.gather(*(lease_due(org_id=org.org.id) for _ in range(6)))
    taken = [d["id"] for lease in leases for d in lease]
    assert len(taken) == len(set(taken)) == 30


async def test_an_undecryptable_secret_is_a_logged_failed_attempt_not_a_stuck_lease(
    org, httpserver, make_endpoint, job_context
):
    receiver = Receiver(httpserver, "/secretless")
    endpoint, _ = await make_endpoint(receiver.url)
    await WebhookEndpoint.update({WebhookEndpoint.secret_encrypted: "not-a-fernet-token"}).where(
        WebhookEndpoint.id == endpoint.id
    )
    async with write_transaction():
        await record_event(org.org.id, "order.paid", {"id": "o1"})
    await deliver_due(job_context, org_id=org.org.id)
    delivery = await WebhookDelivery.objects().where(WebhookDelivery.org == org.org.id).first()
    assert receiver.requests == []
    assert (delivery.status, delivery.attempts, delivery.locked_until) == ("pending", 1, None)
    assert "cannot be decrypted" in delivery.last_error
