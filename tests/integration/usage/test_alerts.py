"""Usage alerts: each threshold reached by ingestion notifies once per period (email to the billing address
in the customer's language, a verified ``usage.threshold_reached`` webhook equal to the API's resource, a
loader event), concurrent batches included; set in the usage view or by the merchant for everyone."""

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import standardwebhooks

from server import clock
from server.clock import FrozenClock, use_clock
from server.db.tables import Customer, EmailMessage, UsageAlertHit, WebhookEvent
from server.metering.service import UsageEventIn
from server.subscriptions.service import renew_subscription
from server.usage import usage_alerts, usage_ingestion
from server.usage.usage_alerts import Notifier
from tests.integration.mail.support import drain
from tests.integration.usage.support import metered_customer, use_daily
from tests.integration.webhooks.support import deliver_until_settled
from tests.integration.webhooks.test_delivery import Receiver

START = datetime(2027, 3, 1, tzinfo=UTC)
TODAY = START + timedelta(days=10, hours=6)


def bearer(session):
    return {"Authorization": f"Bearer {session}"}


async def post_usage(client, headers, metered, value, **extra):
    event = {"name": metered.meter.event_name, "customer_id": str(metered.customer.id), "value": value}
    response = await client.post("/v1/events", json={"events": [{**event, **extra}]}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_each_threshold_reached_by_ingestion_notifies_once(
    org, local_client, api_headers, httpserver, job_context, smtp_context, inbox
):
    org_id = org.org.id
    now = clock.now()  # receivers check a webhook's timestamp against the real time
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=10)
    metered = await metered_customer(org_id, start, included=1000, limit=2000)
    await Customer.update({Customer.locale: "de", Customer.billing_email: "billing@ada.example"}).where(
        Customer.id == metered.customer.id
    )
    receiver = Receiver(httpserver, "/hooks")
    endpoint = await local_client.post(
        "/v1/webhook-endpoints",
        json={"url": receiver.url, "event_types": ["usage.threshold_reached"]},
        headers=api_headers,
    )
    verifier = standardwebhooks.Webhook(endpoint.json()["secret"])
    frozen = FrozenClock(now)
    customer_id = str(metered.customer.id)
    alerts = {}
    for name, body in {
        "half": {"customer_id": customer_id, "kind": "included_percent", "threshold": 50},
        "limit": {"customer_id": customer_id, "kind": "limit_percent", "threshold": 75},
        "default": {"kind": "included_percent", "threshold": 100},
    }.items():
        created = await local_client.post("/v1/usage-alerts", json=body, headers=api_headers)
        assert created.status_code == 201, created.text
        alerts[name] = created.json()["id"]

    async def ingest(value):
        frozen.advance(timedelta(seconds=1))  # each batch a little later
        with use_clock(frozen):
            await post_usage(local_client, api_headers, metered, value)
            await deliver_until_settled(job_context, org_id)
        payloads = [verifier.verify(body, headers) for headers, body, _ in receiver.requests]
        receiver.requests.clear()
        return payloads

    assert await ingest(400) == []  # 40 % of what is included
    [half] = await ingest(200)  # 60 %
    assert half["type"] == "usage.threshold_reached"
    assert (half["data"]["alert_id"], half["data"]["kind"], half["data"]["threshold"]) == (
        alerts["half"],
        "included_percent",
        50,
    )
    assert (half["data"]["usage"]["usage"], half["data"]["usage"]["percent_of_included"]) == (600, 60)
    stored = await local_client.get(f"/v1/usage-thresholds/{half['data']['id']}", headers=api_headers)
    assert stored.json() == half["data"]
    assert await ingest(100) == []  # 70 %: nothing new
    [default] = await ingest(500)  # 120 % of included, 60 % of the limit
    assert default["data"]["alert_id"] == alerts["default"]
    [limit] = await ingest(400)  # 80 % of the limit
    assert (limit["data"]["alert_id"], limit["data"]["usage"]["percent_of_limit"]) == (alerts["limit"], 80)
    assert await ingest(1000) == []  # beyond everything: each has notified this period

    with use_clock(frozen):
        await drain(smtp_context)
    mails = inbox.received_by("billing@ada.example")
    assert len(mails) == 3
    first = next(m for m in mails if "50 %" in m.get_body(("plain",)).get_content())
    assert first["Subject"] == "Nutzungswarnung: Api.Call"
    text = first.get_body(("plain",)).get_content()
    assert (
        "Ihre Nutzung hat 50 % der in diesem Zeitraum inbegriffenen 1.000 units erreicht: bisher 600." in text
    )
    assert f"/portal/{org.org.slug}?view=usage" in text
    listed = await local_client.get(
        "/v1/usage-thresholds", params={"customer_id": customer_id}, headers=api_headers
    )
    assert [t["alert_id"] for t in listed.json()["items"]] == [
        alerts["limit"],
        alerts["default"],
        alerts["half"],
    ]


async def test_concurrent_batches_reach_a_threshold_once(org, keyring):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=1000)
    alert = await usage_alerts.create_alert(
        org_id, customer_id=metered.customer.id, kind="included_percent", threshold=80
    )
    notifier = Notifier(keyring=keyring, public_url="https://billing.example.com")
    batch = [UsageEventIn(name="api.call", customer_id=metered.customer.id, value=100, occurred_at=TODAY)]
    with use_clock(FrozenClock(TODAY)):
        await asyncio.gather(*(usage_ingestion.ingest(notifier, org_id, batch * 3) for _ in range(8)))
    hits = await UsageAlertHit.select().where(UsageAlertHit.alert == alert.id)
    assert len(hits) == 1
    events = await WebhookEvent.select(WebhookEvent.payload).where(
        WebhookEvent.org == org_id, WebhookEvent.type == "usage.threshold_reached"
    )
    assert len(events) == 1
    assert await EmailMessage.count().where(EmailMessage.org == org_id) == 1


async def test_an_alert_notifies_again_in_the_next_period(org, keyring):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=100, unit_amount=0)
    await usage_alerts.create_alert(org_id, customer_id=None, kind="included_percent", threshold=90)
    notifier = Notifier(keyring=keyring, public_url="https://billing.example.com")

    async def use(at):
        event = UsageEventIn(name="api.call", customer_id=metered.customer.id, value=95, occurred_at=at)
        with use_clock(FrozenClock(at)):
            await usage_ingestion.ingest(notifier, org_id, [event])

    await use(TODAY)
    await use(TODAY + timedelta(hours=1))
    april = datetime(2027, 4, 1, 1, tzinfo=UTC)
    with use_clock(FrozenClock(april)):
        await renew_subscription(org_id, metered.subscription.id)
    await use(april + timedelta(days=1))
    hits = await UsageAlertHit.select(UsageAlertHit.period_start).where(
        UsageAlertHit.customer == metered.customer.id
    )
    assert sorted(h["period_start"] for h in hits) == [START, datetime(2027, 4, 1, tzinfo=UTC)]


async def test_a_projected_overage_alert_watches_the_projection_in_its_currency(org, keyring):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=1000, unit_amount=200, unit_batch=100)
    euros = await usage_alerts.create_alert(
        org_id, customer_id=metered.customer.id, kind="projected_overage", threshold=100, currency="EUR"
    )
    dollars = await usage_alerts.create_alert(
        org_id, customer_id=metered.customer.id, kind="projected_overage", threshold=8000, currency="USD"
    )
    too_high = await usage_alerts.create_alert(
        org_id, customer_id=metered.customer.id, kind="projected_overage", threshold=8001, currency="USD"
    )
    notifier = Notifier(keyring=keyring, public_url="https://billing.example.com")
    with use_clock(FrozenClock(TODAY)):
        # the linear series of test_projection: projected overage 3,960 units, 40 batches, $80.00
        await use_daily(org_id, metered, START, [10 * (i + 1) for i in range(10)])
        events = [UsageEventIn(name="api.call", customer_id=metered.customer.id, value=40, occurred_at=TODAY)]
        await usage_ingestion.ingest(notifier, org_id, events)
    reached = {str(h["alert"]) for h in await UsageAlertHit.select(UsageAlertHit.alert)}
    assert str(dollars.id) in reached
    assert not {str(euros.id), str(too_high.id)} & reached


async def test_the_api_refuses_alerts_it_cannot_watch(client, org, api_headers):
    metered = await metered_customer(org.org.id, START)
    customer_id = str(metered.customer.id)
    cases = [
        ({"customer_id": customer_id, "kind": "projected_overage", "threshold": 500}, 422, "currency"),
        ({"kind": "included_percent", "threshold": 80, "currency": "USD"}, 422, "percentage"),
        ({"kind": "limit_percent", "threshold": 1001}, 422, "between 1 and 1000"),
        ({"kind": "included_percent", "threshold": 80, "customer_id": str(org.org.id)}, 404, "no customer"),
        ({"kind": "included_percent", "threshold": 80, "meter_id": customer_id}, 404, "no meter"),
        ({"kind": "sometimes", "threshold": 80}, 400, ""),
    ]
    for body, status, words in cases:
        response = await client.post("/v1/usage-alerts", json=body, headers=api_headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert words in response.json()["detail"]
    made = await client.post(
        "/v1/usage-alerts", json={"kind": "included_percent", "threshold": 80}, headers=api_headers
    )
    again = await client.post(
        "/v1/usage-alerts", json={"kind": "included_percent", "threshold": 80}, headers=api_headers
    )
    assert again.status_code == 409
    defaults = await client.get("/v1/usage-alerts", headers=api_headers)
    assert [a["id"] for a in defaults.json()["items"]] == [made.json()["id"]]
    own = await client.get("/v1/usage-alerts", params={"customer_id": customer_id}, headers=api_headers)
    assert own.json()["items"] == []
    gone = await client.delete(f"/v1/usage-alerts/{made.json()['id']}", headers=api_headers)
    assert gone.status_code == 204
    assert (await client.get(f"/v1/usage-alerts/{made.json()['id']}", headers=api_headers)).status_code == 404


async def test_the_customer_sets_and_removes_alerts_in_the_usage_view(client, org, open_session, keyring):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=1000, unit_amount=200, unit_batch=100)
    await usage_alerts.create_alert(org_id, customer_id=None, kind="included_percent", threshold=100)
    with use_clock(FrozenClock(TODAY)):
        session = await open_session(customer_id=metered.customer.id)
        await Customer.update({Customer.locale: "de"}).where(Customer.id == metered.customer.id)
        meter = {"meter_id": str(metered.meter.id), "currency": "USD"}
        add = "/embed/views/usage/add_alert"
        page = await client.post(
            add, data={**meter, "kind": "included_percent", "threshold": "80"}, headers=bearer(session)
        )
        assert page.status_code == 200, page.text
        assert "Warnung eingerichtet." in page.text
        money = {**meter, "kind": "projected_overage", "threshold": "25,50"}
        page = await client.post(add, data=money, headers=bearer(session))
        assert "Wenn die voraussichtlichen Mehrkosten 25,50" in page.text
        assert "Bei 80 % des Inbegriffenen" in page.text
        standard = page.text.split("Bei 100 % des Inbegriffenen")[1].split("</li>")[0]
        assert "Standard" in standard
        assert "remove_alert" not in standard  # the merchant's default cannot be removed here
        for bad, says in (
            ({**meter, "kind": "included_percent", "threshold": "viel"}, "Prozentsatz zwischen 1 und 1000"),
            ({**meter, "kind": "projected_overage", "threshold": "1,234"}, "Betrag ein"),
            ({**meter, "kind": "nothing", "threshold": "5"}, "worauf die Warnung"),
        ):
            refused = await client.post(add, data=bad, headers=bearer(session))
            assert refused.status_code == 422
            assert says in refused.text
        own = await usage_alerts.list_alerts(org_id, customer_id=metered.customer.id, limit=10)
        assert sorted((a.kind, a.threshold, a.currency) for a in own.items) == [
            ("included_percent", 80, None),
            ("projected_overage", 2550, "USD"),
        ]
        removed = await client.post(
            "/embed/views/usage/remove_alert",
            data={"alert_id": str(own.items[0].id)},
            headers=bearer(session),
        )
        assert "Warnung entfernt." in removed.text
        assert (
            len((await usage_alerts.list_alerts(org_id, customer_id=metered.customer.id, limit=10)).items)
            == 1
        )
        read_only = await open_session(customer_id=metered.customer.id, read_only=True)
        looked = await client.get("/embed/views/usage", headers=bearer(read_only))
        assert "add_alert" not in looked.text
        refused = await client.post(
            add, data={**meter, "kind": "included_percent", "threshold": "5"}, headers=bearer(read_only)
        )
        assert refused.status_code == 403


async def test_the_embedding_page_hears_of_a_threshold_once(client, org, open_session, keyring):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=100)
    alert = await usage_alerts.create_alert(
        org_id, customer_id=metered.customer.id, kind="included_percent", threshold=50
    )
    notifier = Notifier(keyring=keyring, public_url="https://billing.example.com")
    with use_clock(FrozenClock(TODAY)):
        session = await open_session(customer_id=metered.customer.id)
        quiet = await client.get("/embed/views/overview", headers=bearer(session))
        assert "x-selfserve-events" not in quiet.headers
        event = UsageEventIn(name="api.call", customer_id=metered.customer.id, value=60, occurred_at=TODAY)
        await usage_ingestion.ingest(notifier, org_id, [event])
        page = await client.get("/embed/views/usage", headers=bearer(session))
        [told] = msgspec.json.decode(page.headers["x-selfserve-events"])
        assert told["type"] == "usage.threshold_reached"
        assert (told["data"]["alert_id"], told["data"]["meter_id"]) == (str(alert.id), str(metered.meter.id))
        assert set(told["data"]) == {"id", "alert_id", "subscription_id", "meter_id"}  # no personal data
        assert "Reached on" in page.text
        again = await client.get("/embed/views/usage", headers=bearer(session))
        assert "x-selfserve-events" not in again.headers


async def test_a_merchant_default_set_later_shows_in_a_view_seen_before(
    client, org, open_session, api_headers
):
    metered = await metered_customer(org.org.id, START)
    with use_clock(FrozenClock(TODAY)):
        session = await open_session(customer_id=metered.customer.id)
        before = await client.get("/embed/views/usage", headers=bearer(session))
        assert "No alert is set." in before.text
        made = await client.post(
            "/v1/usage-alerts", json={"kind": "included_percent", "threshold": 90}, headers=api_headers
        )
        assert made.status_code == 201
        after = await client.get("/embed/views/usage", headers=bearer(session))
    assert "At 90% of what is included" in after.text
