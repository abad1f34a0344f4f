"""Spend caps: reaching one by ingestion notifies once per period (a verified ``usage.cap_reached`` equal to
the API's resource, an email in the customer's language, a loader event), concurrent batches included; the
customer is marked capped in the usage report and the ingestion answer; the renewal bills the overage up to
the cap exactly; customers set caps in the usage view only where the merchant allows it."""

import asyncio
import random
from datetime import UTC, datetime, timedelta

import msgspec
import standardwebhooks

from server import clock
from server.clock import FrozenClock, use_clock
from server.db.tables import (
    Customer,
    EmailMessage,
    Order,
    OrderLine,
    SpendCapHit,
    WebhookEvent,
)
from server.metering.service import UsageEventIn, billed_batches
from server.subscriptions.service import renew_subscription
from server.usage import spend_caps, usage_ingestion
from server.usage.usage_alerts import Notifier
from tests.integration.factories import make_meter, metering
from tests.integration.mail.support import drain
from tests.integration.usage.support import metered_customer
from tests.integration.usage.test_alerts import bearer, post_usage
from tests.integration.webhooks.support import deliver_until_settled
from tests.integration.webhooks.test_delivery import Receiver

START = datetime(2027, 3, 1, tzinfo=UTC)
TODAY = START + timedelta(days=10, hours=6)
APRIL = datetime(2027, 4, 1, 1, tzinfo=UTC)


async def test_a_cap_reached_by_ingestion_notifies_once_and_marks_the_customer_capped(
    org, local_client, api_headers, httpserver, job_context, smtp_context, inbox
):
    org_id = org.org.id
    now = clock.now()  # receivers check a webhook's timestamp against the real time
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=10)
    # $2.00 per 100 calls beyond 1,000 included
    metered = await metered_customer(org_id, start, included=1000, unit_amount=200, unit_batch=100)
    customer_id, subscription_id = str(metered.customer.id), str(metered.subscription.id)
    await Customer.update({Customer.locale: "de", Customer.billing_email: "caps@ada.example"}).where(
        Customer.id == metered.customer.id
    )
    receiver = Receiver(httpserver, "/hooks")
    endpoint = await local_client.post(
        "/v1/webhook-endpoints",
        json={"url": receiver.url, "event_types": ["usage.cap_reached"]},
        headers=api_headers,
    )
    verifier = standardwebhooks.Webhook(endpoint.json()["secret"])
    cap_url = f"/v1/subscriptions/{subscription_id}/spend-cap"
    put = await local_client.put(cap_url, json={"amount": 1000}, headers=api_headers)
    assert put.status_code == 200, put.text
    assert (put.json()["amount"], put.json()["currency"], put.json()["set_by"]) == (1000, "USD", "merchant")
    assert (put.json()["capped"], put.json()["reached_at"]) == (False, None)
    frozen = FrozenClock(now)

    async def ingest(value):
        frozen.advance(timedelta(seconds=1))
        with use_clock(frozen):
            answer = await post_usage(local_client, api_headers, metered, value)
            await deliver_until_settled(job_context, org_id)
        payloads = [verifier.verify(body, headers) for headers, body, _ in receiver.requests]
        receiver.requests.clear()
        return answer["capped_customers"], payloads

    assert await ingest(1200) == ([], [])  # 2 batches beyond: $4.00 of the $10.00 cap
    capped, [reached] = await ingest(300)  # 5 batches: $10.00, the cap
    assert capped == [{"customer_id": customer_id, "external_customer_id": metered.customer.external_id}]
    assert reached["type"] == "usage.cap_reached"
    data = reached["data"]
    assert (data["subscription_id"], data["customer_id"], data["amount"]) == (
        subscription_id,
        customer_id,
        1000,
    )
    assert (data["overage_amount"], data["billed_overage_amount"], data["capped"]) == (1000, 1000, True)
    assert data["reached_at"] is not None
    with use_clock(frozen):
        assert (await local_client.get(cap_url, headers=api_headers)).json() == data
    capped, again = await ingest(700)  # $24.00 of usage beyond: still capped, no second webhook
    assert (len(capped), again) == (1, [])
    with use_clock(frozen):
        usage = (await local_client.get(f"/v1/customers/{customer_id}/usage", headers=api_headers)).json()
    assert usage["capped"] is True
    assert [m["capped"] for m in usage["meters"]] == [True]
    assert usage["meters"][0]["overage_amount"] == 2400  # the meter's own cost, before the cap
    [cap] = usage["spend_caps"]
    assert (cap["overage_amount"], cap["billed_overage_amount"], cap["reached_at"]) == (
        2400,
        1000,
        data["reached_at"],
    )
    raised = await local_client.put(cap_url, json={"amount": 5000}, headers=api_headers)
    assert (raised.json()["capped"], raised.json()["reached_at"]) == (False, data["reached_at"])
    assert await ingest(100) == (
        [],
        [],
    )  # under the raised cap: not capped, and no second webhook this period

    with use_clock(frozen):
        await drain(smtp_context)
    [mail] = inbox.received_by("caps@ada.example")
    assert mail["Subject"] == "Ausgabengrenze erreicht: Pro"
    text = mail.get_body(("plain",)).get_content()
    assert "hat Ihre Ausgabengrenze von 10,00\xa0$ für den Zeitraum bis" in text
    assert f"/portal/{org.org.slug}?view=usage" in text


async def test_concurrent_batches_reach_a_cap_once(org, keyring):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=100, unit_amount=100, unit_batch=10)
    await spend_caps.set_cap(org_id, metered.subscription.id, 500)
    notifier = Notifier(keyring=keyring, public_url="https://billing.example.com")
    batch = [UsageEventIn(name="api.call", customer_id=metered.customer.id, value=20, occurred_at=TODAY)]
    with use_clock(FrozenClock(TODAY)):
        answers = await asyncio.gather(
            *(usage_ingestion.ingest(notifier, org_id, batch * 3) for _ in range(8))
        )
    # 8 batches of 60 = 480 units, 380 beyond 100 included: 38 batches, far past the $5.00 cap
    assert {c.customer_id for a in answers for c in a.capped_customers} == {str(metered.customer.id)}
    assert await SpendCapHit.count().where(SpendCapHit.subscription == metered.subscription.id) == 1
    assert (
        await WebhookEvent.count().where(WebhookEvent.org == org_id, WebhookEvent.type == "usage.cap_reached")
        == 1
    )
    assert await EmailMessage.count().where(EmailMessage.org == org_id) == 1


async def _cycle_lines(org_id, subscription_id):
    order = (
        await Order.objects()
        .where(Order.subscription == subscription_id, Order.billing_reason == "subscription_cycle")
        .first()
    )
    rows = await OrderLine.select(OrderLine.kind, OrderLine.amount, OrderLine.description).where(
        OrderLine.order == order.id
    )
    return order, [r for r in rows if r["kind"] == "usage"]


async def test_the_renewal_bills_the_overage_up_to_the_cap_exactly(org, keyring):
    """Random two-meter usage against random caps (and the edges: none, 0, exactly the overage, one minor
    unit below it): the period's usage lines always add up to the overage or the cap, whichever is less."""
    org_id = org.org.id
    rng = random.Random(22)
    cases = [(None, 0), (0, 1), (None, 1), ("exact", 1), ("below", 1), ("above", 1)]
    cases += [(rng.randrange(0, 20_000), rng.random()) for _ in range(14)]
    held_back = 0
    for index, (cap, scale) in enumerate(cases):
        included, batch, price = rng.randrange(0, 500), rng.randrange(1, 50), rng.randrange(1, 500)
        other = await make_meter(org_id, f"rows.{index}")
        metered = await metered_customer(
            org_id,
            START,
            included=included,
            unit_amount=price,
            unit_batch=batch,
            event_name=f"calls.{index}",
            also=[metering(other, included=10, unit_amount=7, unit_batch=3)],
        )
        used = {f"calls.{index}": int(rng.randrange(0, 5000) * scale), f"rows.{index}": rng.randrange(0, 400)}
        events = [
            UsageEventIn(name=name, customer_id=metered.customer.id, value=value, occurred_at=TODAY)
            for name, value in used.items()
            if value
        ]
        with use_clock(FrozenClock(TODAY)):
            if events:
                await usage_ingestion.ingest(Notifier(keyring=keyring, public_url="-"), org_id, events)
        overage = (
            billed_batches(used[f"calls.{index}"], included, batch) * price
            + billed_batches(used[f"rows.{index}"], 10, 3) * 7
        )
        limit = {"exact": overage, "below": max(overage - 1, 0), "above": overage + 1}.get(cap, cap)
        if limit is not None:
            await spend_caps.set_cap(org_id, metered.subscription.id, limit)
        with use_clock(FrozenClock(APRIL)):
            await renew_subscription(org_id, metered.subscription.id)
        order, lines = await _cycle_lines(org_id, metered.subscription.id)
        expected = overage if limit is None else min(overage, limit)
        assert sum(line["amount"] for line in lines) == expected, (index, used, included, batch, price, limit)
        credits = [line for line in lines if line["amount"] < 0]
        if limit is not None and overage > limit:
            [credit] = credits
            assert credit["amount"] == limit - overage
            assert credit["description"].startswith("Spend cap of $")
            held_back += 1
        else:
            assert credits == []
        assert order.subtotal == sum(line["amount"] for line in lines)  # the base price is 0
    assert held_back >= 5  # the cases really reach their caps


async def test_the_customer_sets_a_cap_in_the_usage_view_where_the_merchant_allows_it(
    client, org, open_session, api_headers
):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=1000, unit_amount=200, unit_batch=100)
    form = {"subscription_id": str(metered.subscription.id), "currency": "USD"}
    with use_clock(FrozenClock(TODAY)):
        session = await open_session(customer_id=metered.customer.id)
        await Customer.update({Customer.locale: "de"}).where(Customer.id == metered.customer.id)
        page = await client.get("/embed/views/usage", headers=bearer(session))
        assert "set_cap" not in page.text
        refused = await client.post(
            "/embed/views/usage/set_cap", data={**form, "amount": "25"}, headers=bearer(session)
        )
        assert refused.status_code == 403
        assert "Ausgabengrenzen sind hier nicht verfügbar." in refused.text
        allowed = await client.patch(
            "/v1/portal-settings", json={"features": {"spend_caps": True}}, headers=api_headers
        )
        assert allowed.status_code == 200, allowed.text
        page = await client.get("/embed/views/usage", headers=bearer(session))
        assert "Keine Ausgabengrenze festgelegt" in page.text
        set_page = await client.post(
            "/embed/views/usage/set_cap", data={**form, "amount": "25,50"}, headers=bearer(session)
        )
        assert set_page.status_code == 200, set_page.text
        assert "Ausgabengrenze festgelegt." in set_page.text
        assert "0,00\xa0$ von Ihrer Ausgabengrenze von 25,50\xa0$" in set_page.text
        cap = await spend_caps.get_cap(org_id, metered.subscription.id)
        assert (cap.amount, cap.set_by) == (2550, "customer")
        bad = await client.post(
            "/embed/views/usage/set_cap", data={**form, "amount": "viel"}, headers=bearer(session)
        )
        assert bad.status_code == 422
        assert "Betrag ein" in bad.text
        read_only = await open_session(customer_id=metered.customer.id, read_only=True)
        looked = await client.get("/embed/views/usage", headers=bearer(read_only))
        assert "von Ihrer Ausgabengrenze von 25,50" in looked.text
        assert "set_cap" not in looked.text
        removed = await client.post("/embed/views/usage/remove_cap", data=form, headers=bearer(session))
        assert "Ausgabengrenze entfernt." in removed.text
        gone = await client.get(f"/v1/subscriptions/{metered.subscription.id}/spend-cap", headers=api_headers)
        assert gone.status_code == 404


async def test_the_embedding_page_hears_of_a_cap_once(client, org, open_session, keyring):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=100, unit_amount=100, unit_batch=10)
    await spend_caps.set_cap(org_id, metered.subscription.id, 100)
    notifier = Notifier(keyring=keyring, public_url="https://billing.example.com")
    with use_clock(FrozenClock(TODAY)):
        session = await open_session(customer_id=metered.customer.id)
        event = UsageEventIn(name="api.call", customer_id=metered.customer.id, value=150, occurred_at=TODAY)
        await usage_ingestion.ingest(notifier, org_id, [event])
        page = await client.get("/embed/views/usage", headers=bearer(session))
        [told] = msgspec.json.decode(page.headers["x-selfserve-events"])
        assert told == {
            "type": "usage.cap_reached",
            "data": {"subscription_id": str(metered.subscription.id)},
        }
        assert "Cap reached" in page.text
        assert "Your spend cap is reached" in page.text
        again = await client.get("/embed/views/usage", headers=bearer(session))
        assert "x-selfserve-events" not in again.headers


async def test_the_api_refuses_caps_it_cannot_keep(client, org, api_headers):
    metered = await metered_customer(org.org.id, START)
    url = f"/v1/subscriptions/{metered.subscription.id}/spend-cap"
    assert (await client.get(url, headers=api_headers)).status_code == 404
    assert (await client.delete(url, headers=api_headers)).status_code == 404
    for body, status in (({"amount": -1}, 400), ({"amount": 10**13}, 400), ({"cap": 5}, 400)):
        response = await client.put(url, json=body, headers=api_headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    unknown = await client.put(
        f"/v1/subscriptions/{org.org.id}/spend-cap", json={"amount": 5}, headers=api_headers
    )
    assert unknown.status_code == 404
    zero = await client.put(url, json={"amount": 0}, headers=api_headers)
    assert (zero.status_code, zero.json()["amount"], zero.json()["capped"]) == (200, 0, False)
    assert (await client.delete(url, headers=api_headers)).status_code == 204
