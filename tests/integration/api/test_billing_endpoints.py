"""The billing endpoints over HTTP: subscriptions, orders and invoices, refunds, wallet, payment methods,
seats and usage events. The billing services have their own tests; these check the API around them."""

import pytest

from server.db.tables import EmailMessage
from server.mail.queue import read_content

CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}


async def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
async def shop(client, api_headers):
    """A customer with a card and a per-seat monthly plan."""
    customer = await _ok(
        await client.post("/v1/customers", json={"email": "team@example.com"}, headers=api_headers), 201
    )
    base = f"/v1/customers/{customer['id']}"
    card = await _ok(await client.post(f"{base}/payment-methods", json=CARD, headers=api_headers), 201)
    product = await _ok(
        await client.post(
            "/v1/products",
            json={
                "name": "Team",
                "prices": [
                    {"kind": "per_seat", "interval": "month", "currency": "USD", "seat_amount": 1000},
                    {"kind": "per_seat", "interval": "month", "currency": "USD", "seat_amount": 2000},
                ],
            },
            headers=api_headers,
        ),
        201,
    )
    return {"customer": customer, "base": base, "card": card, "prices": [p["id"] for p in product["prices"]]}


async def _subscribe(client, headers, shop, seats=2):
    body = {"customer_id": shop["customer"]["id"], "price_id": shop["prices"][0], "seats": seats}
    return await _ok(await client.post("/v1/subscriptions", json=body, headers=headers), 201)


async def test_subscription_lifecycle(client, api_headers, shop):
    subscription = await _subscribe(client, api_headers, shop)
    assert subscription["status"] == "active"
    path = f"/v1/subscriptions/{subscription['id']}"
    assert (await _ok(await client.get(path, headers=api_headers)))["seats"] == 2
    listed = await _ok(
        await client.get(
            "/v1/subscriptions", params={"customer_id": shop["customer"]["id"]}, headers=api_headers
        )
    )
    assert [s["id"] for s in listed["items"]] == [subscription["id"]]

    preview = await _ok(
        await client.get(f"{path}/seat-change-preview", params={"seats": 3}, headers=api_headers)
    )
    assert preview["seats"] == 3
    assert (await _ok(await client.post(f"{path}/seats", json={"seats": 3}, headers=api_headers)))[
        "seats"
    ] == 3
    plan = await _ok(
        await client.get(
            f"{path}/plan-change-preview", params={"price_id": shop["prices"][1]}, headers=api_headers
        )
    )
    assert plan["new_amount"] == 6000
    changed = await _ok(
        await client.post(f"{path}/change-plan", json={"price_id": shop["prices"][1]}, headers=api_headers)
    )
    assert changed["price_id"] == shop["prices"][1]
    upcoming = await _ok(await client.get(f"{path}/upcoming-invoice", headers=api_headers))
    assert upcoming["subscription_id"] == subscription["id"]

    paused = await _ok(await client.post(f"{path}/pause", headers=api_headers))
    assert paused["status"] == "paused"
    assert (await _ok(await client.post(f"{path}/resume", headers=api_headers)))["status"] == "active"

    canceled = await _ok(
        await client.post(
            f"{path}/cancel", json={"reason": "too_expensive", "comment": "pricey"}, headers=api_headers
        )
    )
    assert canceled["cancel_at_period_end"] is True
    assert canceled["cancellation_reason"] == "too_expensive"
    assert (await _ok(await client.post(f"{path}/uncancel", headers=api_headers)))[
        "cancel_at_period_end"
    ] is False
    again = await client.post(f"{path}/uncancel", headers=api_headers)
    assert again.status_code == 409
    nothing = await client.post(f"{path}/clear-scheduled-change", headers=api_headers)
    assert nothing.status_code == 409


async def test_subscription_errors(client, api_headers, shop):
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await client.get(f"/v1/subscriptions/{missing}", headers=api_headers)).status_code == 404
    body = {"customer_id": missing, "price_id": shop["prices"][0]}
    assert (await client.post("/v1/subscriptions", json=body, headers=api_headers)).status_code == 404
    body = {"customer_id": shop["customer"]["id"], "price_id": shop["prices"][0], "seats": 0}
    assert (await client.post("/v1/subscriptions", json=body, headers=api_headers)).status_code == 400
    bad_status = await client.get("/v1/subscriptions", params={"status": "sleeping"}, headers=api_headers)
    assert bad_status.status_code == 400


async def test_orders_invoice_and_refunds(client, api_headers, shop):
    subscription = await _subscribe(client, api_headers, shop, seats=1)
    page = await _ok(
        await client.get("/v1/orders", params={"subscription_id": subscription["id"]}, headers=api_headers)
    )
    [order] = page["items"]
    assert order["status"] == "paid"
    assert order["total"] == 1000
    assert order["lines"]
    fetched = await _ok(await client.get(f"/v1/orders/{order['id']}", headers=api_headers))
    assert fetched["id"] == order["id"]

    invoice = await client.get(f"/v1/orders/{order['id']}/invoice", headers=api_headers)
    assert invoice.status_code == 200
    assert invoice.headers["content-type"] == "application/pdf"
    assert invoice.content.startswith(b"%PDF")
    assert (
        await client.get(f"/v1/orders/{order['id']}/invoice", headers=api_headers)
    ).content == invoice.content

    refund = await _ok(
        await client.post(
            f"/v1/orders/{order['id']}/refunds",
            json={"amount": 300, "destination": "wallet"},
            headers=api_headers,
        ),
        201,
    )
    assert refund["amount"] == 300
    too_much = await client.post(
        f"/v1/orders/{order['id']}/refunds", json={"amount": 5000}, headers=api_headers
    )
    assert too_much.status_code == 422
    after = await _ok(await client.get(f"/v1/orders/{order['id']}", headers=api_headers))
    assert after["status"] == "partially_refunded"
    assert [r["amount"] for r in after["refunds"]] == [300]
    wallet = await _ok(await client.get(f"{shop['base']}/wallet", headers=api_headers))
    assert wallet["balances"] == [{"currency": "USD", "balance": 300}]


async def test_wallet_credit_and_debit(client, api_headers, shop):
    wallet = f"{shop['base']}/wallet"
    credit = await _ok(
        await client.post(f"{wallet}/credit", json={"amount": 1000, "currency": "EUR"}, headers=api_headers),
        201,
    )
    assert credit["amount"] == 1000
    debit = await _ok(
        await client.post(f"{wallet}/debit", json={"amount": 400, "currency": "EUR"}, headers=api_headers),
        201,
    )
    assert debit["amount"] == -400
    overdraw = await client.post(
        f"{wallet}/debit", json={"amount": 601, "currency": "EUR"}, headers=api_headers
    )
    assert overdraw.status_code == 409
    state = await _ok(await client.get(wallet, headers=api_headers))
    assert state["balances"] == [{"currency": "EUR", "balance": 600}]
    assert [t["amount"] for t in state["transactions"]] == [-400, 1000]
    missing = "/v1/customers/00000000-0000-0000-0000-000000000000/wallet"
    assert (await client.get(missing, headers=api_headers)).status_code == 404


async def test_payment_methods(client, api_headers, shop, org):
    methods = f"{shop['base']}/payment-methods"
    second = await _ok(
        await client.post(
            methods,
            json={**CARD, "number": "4000 0566 5566 5556", "make_default": False},
            headers=api_headers,
        ),
        201,
    )
    assert second["is_default"] is False
    assert second["last4"] == "5556"
    made = await _ok(await client.post(f"{methods}/{second['id']}/default", headers=api_headers))
    assert made["is_default"] is True
    listed = await _ok(await client.get(methods, headers=api_headers))
    assert {m["id"]: m["is_default"] for m in listed["items"]} == {
        shop["card"]["id"]: False,
        second["id"]: True,
    }
    assert "4242424242424242" not in str(listed)
    declined = await client.post(methods, json={**CARD, "number": "4000 0000 0000 0002"}, headers=api_headers)
    assert declined.status_code == 402
    removed = await client.delete(f"{methods}/{second['id']}", headers=api_headers)
    assert removed.status_code == 204
    listed = await _ok(await client.get(methods, headers=api_headers))
    assert [m["is_default"] for m in listed["items"]] == [True]


async def test_customer_seats(client, api_headers, shop, keyring):
    subscription = await _subscribe(client, api_headers, shop, seats=2)
    # addresses of this test alone: the database (and its mail table) is shared by the whole run
    invitee, owner = f"grace-{subscription['id']}@example.com", f"ada-{subscription['id']}@example.com"
    body = {"subscription_id": subscription["id"], "email": invitee}
    seat = await _ok(await client.post("/v1/customer-seats", json=body, headers=api_headers), 201)
    assert seat["status"] == "pending"
    assert seat["claim_token"]
    [mail] = await EmailMessage.objects().where(EmailMessage.to_address == invitee)
    assert "#token=" + seat["claim_token"] in read_content(keyring, mail.body_encrypted).text
    own_mail = {**body, "email": owner, "send_invitation": False}
    quiet = await _ok(await client.post("/v1/customer-seats", json=own_mail, headers=api_headers), 201)
    assert quiet["claim_token"]
    assert not await EmailMessage.exists().where(EmailMessage.to_address == owner)
    full = await client.post(
        "/v1/customer-seats", json={**body, "email": "alan@example.com"}, headers=api_headers
    )
    assert full.status_code == 409
    listed = await _ok(
        await client.get(
            "/v1/customer-seats", params={"subscription_id": subscription["id"]}, headers=api_headers
        )
    )
    assert "claim_token" not in listed["items"][0]
    revoked = await _ok(await client.delete(f"/v1/customer-seats/{seat['id']}", headers=api_headers))
    assert revoked["status"] == "revoked"
    missing = await client.delete(
        "/v1/customer-seats/00000000-0000-0000-0000-000000000000", headers=api_headers
    )
    assert missing.status_code == 404


async def test_usage_events_batch(client, api_headers, shop):
    await client.patch(f"{shop['base']}", json={"external_id": "ext-usage"}, headers=api_headers)
    events = [
        {"name": "api_call", "external_customer_id": "ext-usage", "value": 2, "event_id": "e1"},
        {"name": "api_call", "customer_id": shop["customer"]["id"], "value": 3, "event_id": "e2"},
    ]
    first = await _ok(await client.post("/v1/events", json={"events": events}, headers=api_headers))
    assert first == {"inserted": 2, "duplicates": 0, "capped_customers": []}
    again = await _ok(await client.post("/v1/events", json={"events": events}, headers=api_headers))
    assert again == {"inserted": 0, "duplicates": 2, "capped_customers": []}
    unknown = [{"name": "api_call", "external_customer_id": "nobody"}]
    response = await client.post("/v1/events", json={"events": unknown}, headers=api_headers)
    assert response.status_code in {404, 422}
    too_many = [{"name": "x", "customer_id": shop["customer"]["id"]}] * 1001
    assert (
        await client.post("/v1/events", json={"events": too_many}, headers=api_headers)
    ).status_code == 400
