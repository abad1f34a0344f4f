"""Every webhook's ``data`` is the resource exactly as the API returns it: a real receiver gets each event,
the public ``standardwebhooks`` package verifies it, and its data is compared with the API's GET of the same
resource made right after the action (the last event of each resource in a step equals it; earlier ones in
the same step have the same fields)."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
import standardwebhooks
from werkzeug import Response

from server.webhooks.outbox import EVENT_TYPES
from tests.integration.webhooks.support import deliver_until_settled
from tests.integration.webhooks.test_delivery import Receiver

GOOD_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
SECOND_CARD = {"number": "5555555555554444", "exp_month": 11, "exp_year": 2098, "cvc": "123"}


class Webhooks:
    """What the receiver has been sent, verified, and the API reads to compare it with."""

    def __init__(self, client, headers, receiver, secret, job_context, org_id):
        self.client, self.headers, self.receiver = client, headers, receiver
        self.verifier = standardwebhooks.Webhook(secret)
        self.job_context, self.org_id = job_context, org_id
        self.seen = 0
        self.types: set[str] = set()
        self.cards: dict[str, dict] = {}
        """Payment methods as the API last listed them (a removed card is compared with its last listing)."""

    async def api(self, method, path, **kwargs):
        response = await self.client.request(method, path, headers=self.headers, **kwargs)
        assert response.status_code < 300, (path, response.text)
        return response.json() if response.content else None

    async def resource(self, event_type, data):
        kind = event_type.split(".")[0]
        if event_type.startswith("subscription.retention_offer_"):
            return await self.api("GET", f"/v1/retention-offers/{data['id']}")
        if kind == "subscription":
            return await self.api("GET", f"/v1/subscriptions/{data['id']}")
        if kind == "customer":
            return await self.api("GET", f"/v1/customers/{data['id']}")
        if kind == "order":
            return await self.api("GET", f"/v1/orders/{data['id']}")
        if kind == "benefit_grant":
            return await self.api("GET", f"/v1/benefit-grants/{data['id']}")
        if event_type == "usage.threshold_reached":
            return await self.api("GET", f"/v1/usage-thresholds/{data['id']}")
        if event_type == "usage.cap_reached":
            return await self.api("GET", f"/v1/subscriptions/{data['subscription_id']}/spend-cap")
        if kind == "webhook_endpoint":
            return await self.api("GET", f"/v1/webhook-endpoints/{data['id']}")
        if kind == "customer_seat":
            seats = await self.api(
                "GET", "/v1/customer-seats", params={"subscription_id": data["subscription_id"]}
            )
            return next(seat for seat in seats["items"] if seat["id"] == data["id"])
        assert kind == "payment_method", event_type
        await self.list_cards(data["customer_id"])
        return self.cards[data["id"]]

    async def list_cards(self, customer_id):
        listed = await self.api("GET", f"/v1/customers/{customer_id}/payment-methods")
        self.cards.update({card["id"]: card for card in listed["items"]})

    async def step(self, *expected_types):
        """Deliver what is pending, verify it, and compare each event with the API's GET of its resource."""
        await deliver_until_settled(self.job_context, self.org_id)
        new = self.receiver.requests[self.seen :]
        self.seen = len(self.receiver.requests)
        payloads = []
        for headers, body, _status in new:
            payload = self.verifier.verify(body, headers)
            assert set(payload) == {"type", "timestamp", "data"}
            payloads.append(payload)
        # deliveries run concurrently: put the events back in the order they happened
        events = [(p["type"], p["data"]) for p in sorted(payloads, key=lambda p: p["timestamp"])]
        assert sorted({t for t, _ in events}) == sorted(set(expected_types)), [t for t, _ in events]
        last: dict[tuple[str, str], dict] = {}
        by_resource: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for event_type, data in events:
            key = (event_type.split(".")[0], data["id"])
            by_resource[key].append(data)
            last[key] = (event_type, data)
        for key, (event_type, data) in last.items():
            current = await self.resource(event_type, data)
            assert data == current, (event_type, data, current)
            for earlier in by_resource[key]:
                assert set(earlier) == set(current), event_type
        self.types.update(t for t, _ in events)
        return events


@pytest.fixture
async def hooks(local_client, api_headers, httpserver, job_context, org):
    receiver = Receiver(httpserver, "/hooks")
    created = await local_client.post(
        "/v1/webhook-endpoints", json={"url": receiver.url}, headers=api_headers
    )
    assert created.status_code == 201, created.text
    return Webhooks(local_client, api_headers, receiver, created.json()["secret"], job_context, org.org.id)


async def _portal(client, api, customer):
    """The customer's embedded portal session, opened with a token as the loader opens it."""
    token = await api("POST", "/v1/customer-sessions", json={"customer_id": customer["id"]})
    opened = await client.post(
        "/embed/session", json={"token": token["token"], "origin": "https://app.example.com"}
    )
    return {"Authorization": f"Bearer {opened.json()['session']}"}


async def _answer_offer(client, api, customer, sub, answer):
    """Cancel ``sub`` in the portal for the reason ``unused``, then ``accept`` or ``decline`` the offer."""
    portal = await _portal(client, api, customer)
    view = "/embed/views/subscriptions"
    review = {"action": "cancel", "subscription_id": sub["id"], "step": "review", "reason": "unused"}
    page = await client.get(view, params=review, headers=portal)
    offer_id = re.search(r'name="offer_id" value="([0-9a-f-]{36})"', page.text)
    assert offer_id, page.text
    form = {"offer_id": offer_id.group(1), "subscription_id": sub["id"], "reason": "unused"}
    answered = await client.post(f"{view}/{answer}_offer", data=form, headers=portal)
    assert answered.status_code == 200, answered.text


async def test_every_event_carries_the_resource_as_the_api_returns_it(hooks, httpserver, org, local_client):
    api = hooks.api
    customer = await api("POST", "/v1/customers", json={"email": "ada@example.com", "name": "Ada"})
    await hooks.step("customer.created")
    await api("PATCH", f"/v1/customers/{customer['id']}", json={"name": "Ada King"})
    await hooks.step("customer.updated")

    benefit = await api(
        "POST",
        "/v1/benefits",
        json={"type": "custom", "description": "Support", "properties": {"url": "https://x.example"}},
    )
    product = await api(
        "POST",
        "/v1/products",
        json={
            "name": "Team",
            "benefit_ids": [benefit["id"]],
            "prices": [{"kind": "per_seat", "interval": "month", "currency": "USD", "seat_amount": 1000}],
        },
    )
    card = await api("POST", f"/v1/customers/{customer['id']}/payment-methods", json=GOOD_CARD)
    await hooks.step("payment_method.updated")

    sub = await api(
        "POST",
        "/v1/subscriptions",
        json={"customer_id": customer["id"], "price_id": product["prices"][0]["id"], "seats": 3},
    )
    await hooks.step("subscription.created", "order.created", "order.paid", "benefit_grant.created")

    seat = await api(
        "POST",
        "/v1/customer-seats",
        json={"subscription_id": sub["id"], "email": "grace@example.com", "send_invitation": False},
    )
    await hooks.step("customer_seat.assigned")
    claimed = await local_client.post(f"/portal/{org.org.slug}/claim", data={"token": seat["claim_token"]})
    assert claimed.status_code == 200, claimed.text
    await hooks.step("customer_seat.claimed", "customer.created")
    await api("DELETE", f"/v1/customer-seats/{seat['id']}")
    await hooks.step("customer_seat.revoked")

    await api("POST", f"/v1/subscriptions/{sub['id']}/seats", json={"seats": 5})
    await hooks.step("subscription.updated", "order.created", "order.paid")
    first_order = (await api("GET", "/v1/orders", params={"subscription_id": sub["id"]}))["items"][0]
    await api(
        "POST", f"/v1/orders/{first_order['id']}/refunds", json={"amount": 700, "destination": "wallet"}
    )
    await hooks.step("order.refunded")

    await api(
        "POST",
        f"/v1/subscriptions/{sub['id']}/cancel",
        json={"at_period_end": True, "reason": "too_expensive", "comment": "Budget cuts"},
    )
    [(_, canceled)] = await hooks.step("subscription.canceled")
    assert canceled["cancel_at_period_end"] is True
    assert canceled["cancellation_reason"] == "too_expensive"
    assert canceled["cancellation_comment"] == "Budget cuts"
    assert canceled["canceled_at"] is not None
    await api("POST", f"/v1/subscriptions/{sub['id']}/uncancel")
    await hooks.step("subscription.uncanceled")

    offer = {"kind": "pause", "pause_periods": 1, "message": "Take a month off."}
    await api("PUT", "/v1/retention-settings", json={"offers": {"unused": offer}})
    await _answer_offer(local_client, api, customer, sub, "decline")
    [(_, declined)] = await hooks.step("subscription.retention_offer_declined")
    assert (declined["outcome"], declined["kind"], declined["monthly_revenue_kept"]) == (
        "declined",
        "pause",
        0,
    )
    pausing = await api("POST", "/v1/customers", json={"email": "lin@example.com", "name": "Lin"})
    await api("POST", f"/v1/customers/{pausing['id']}/payment-methods", json=GOOD_CARD)
    paused_sub = await api(
        "POST",
        "/v1/subscriptions",
        json={"customer_id": pausing["id"], "price_id": product["prices"][0]["id"]},
    )
    await hooks.step(
        "customer.created",
        "payment_method.updated",
        "subscription.created",
        "order.created",
        "order.paid",
        "benefit_grant.created",
    )
    await _answer_offer(local_client, api, pausing, paused_sub, "accept")
    events = await hooks.step(  # a paused subscription holds back its benefits
        "subscription.retention_offer_accepted", "subscription.updated", "benefit_grant.revoked"
    )
    accepted = dict(events)["subscription.retention_offer_accepted"]
    assert (accepted["outcome"], accepted["monthly_revenue_kept"]) == ("accepted", 1000)
    assert accepted["subscription"]["resumes_at"] is not None

    await hooks.list_cards(customer["id"])
    second = await api(
        "POST", f"/v1/customers/{customer['id']}/payment-methods", json={**SECOND_CARD, "make_default": False}
    )
    await hooks.step("payment_method.updated")
    await api("POST", f"/v1/customers/{customer['id']}/payment-methods/{second['id']}/default")
    await hooks.step("payment_method.updated")
    await hooks.list_cards(customer["id"])
    await api("DELETE", f"/v1/customers/{customer['id']}/payment-methods/{card['id']}")
    [(_, removed)] = await hooks.step("payment_method.updated")
    assert removed["id"] == card["id"]

    await api(
        "POST", f"/v1/subscriptions/{sub['id']}/cancel", json={"at_period_end": False, "refund": "wallet"}
    )
    events = await hooks.step(
        "subscription.canceled", "subscription.revoked", "benefit_grant.revoked", "order.refunded"
    )
    ended = dict(events)["subscription.canceled"]
    assert ended["status"] == "canceled"
    assert ended["ended_at"] is not None

    meter = await api(
        "POST", "/v1/meters", json={"name": "Calls", "event_name": "call", "aggregation": "sum"}
    )
    usage_price = {"meter_id": meter["id"], "included_units": 10, "unit_amount": 100}
    metered = await api(
        "POST",
        "/v1/products",
        json={
            "name": "API",
            "prices": [
                {
                    "kind": "metered",
                    "interval": "month",
                    "currency": "USD",
                    "amount": 500,
                    "meters": [usage_price],
                }
            ],
        },
    )
    await api(
        "POST",
        "/v1/subscriptions",
        json={"customer_id": customer["id"], "price_id": metered["prices"][0]["id"]},
    )
    await hooks.step("subscription.created", "order.created", "order.paid")
    alert = {"customer_id": customer["id"], "kind": "included_percent", "threshold": 80}
    await api("POST", "/v1/usage-alerts", json=alert)
    await api(
        "POST", "/v1/events", json={"events": [{"name": "call", "customer_id": customer["id"], "value": 9}]}
    )
    [(_, reached)] = await hooks.step("usage.threshold_reached")
    assert (reached["usage"]["usage"], reached["usage"]["percent_of_included"]) == (9, 90)
    subscription_id = reached["subscription_id"]
    await api("PUT", f"/v1/subscriptions/{subscription_id}/spend-cap", json={"amount": 100})
    await api(
        "POST", "/v1/events", json={"events": [{"name": "call", "customer_id": customer["id"], "value": 2}]}
    )
    [(_, capped)] = await hooks.step("usage.cap_reached")
    assert (capped["overage_amount"], capped["billed_overage_amount"], capped["capped"]) == (100, 100, True)

    leaving = await api("POST", "/v1/customers", json={"email": "grace@example.com", "name": "Grace"})
    await hooks.step("customer.created")
    portal = await _portal(local_client, api, leaving)
    asked = await local_client.post(
        "/embed/views/settings/request_deletion", data={"confirm": "on"}, headers=portal
    )
    assert asked.status_code == 200, asked.text
    [(_, requested)] = await hooks.step("customer.deletion_requested")
    assert requested["deletion_requested_at"]
    await api("POST", f"/v1/customers/{leaving['id']}/erase")
    [(_, deleted)] = await hooks.step("customer.deleted")
    assert deleted["erased_at"]
    assert deleted["email"].endswith("@erased.invalid")

    gone = httpserver.url_for("/gone")
    httpserver.expect_request("/gone", method="POST").respond_with_response(Response("gone", status=410))
    endpoint = await api(
        "POST", "/v1/webhook-endpoints", json={"url": gone, "event_types": ["customer.updated"]}
    )
    await api("PATCH", f"/v1/customers/{customer['id']}", json={"name": "Ada Lovelace"})
    events = await hooks.step("webhook_endpoint.disabled", "customer.updated")
    disabled = dict(events)["webhook_endpoint.disabled"]
    assert disabled["id"] == endpoint["id"]
    assert disabled["enabled"] is False
    assert re.search("410", disabled["disabled_reason"])

    assert hooks.types == set(EVENT_TYPES)
