"""Coupons, promotion codes and subscription discounts over HTTP: problem+json for bad input, cursor pages,
Idempotency-Key replays, and the discount as its own line (before tax) on previews, orders, the invoice PDF
and the webhooks."""

import io
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from pypdf import PdfReader

from server.billing import orders as order_service
from server.billing import payments
from server.db.tables import WebhookEvent
from tests.integration.subscriptions.test_subscriptions import GOOD_CARD

PERCENT = {"name": "Spring sale", "percent_off": 20, "duration": "forever"}


async def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


@pytest.fixture
async def shop(client, api_headers, org, keyring):
    """A German seller (19 % VAT), a German customer with a card, and two monthly plans of one product."""
    for path, body in (
        ("/v1/tax-registrations", {"country": "DE", "tax_number": "DE136695976"}),
        ("/v1/tax-rates", {"country": "DE", "percentage": 19, "name": "VAT"}),
    ):
        await _ok(await client.post(path, json=body, headers=api_headers), 201)
    customer = await _ok(
        await client.post(
            "/v1/customers",
            json={"email": "berlin@example.com", "billing_address": {"country": "DE"}},
            headers=api_headers,
        ),
        201,
    )
    await payments.add_payment_method(
        org.org.id, customer["id"], keyring=keyring, number=GOOD_CARD, exp_month=12, exp_year=2035, cvc="123"
    )
    product = await _ok(
        await client.post(
            "/v1/products",
            json={
                "name": "Studio",
                "prices": [
                    {"kind": "fixed", "interval": "month", "currency": "EUR", "amount": 1000},
                    {"kind": "fixed", "interval": "month", "currency": "EUR", "amount": 3000},
                ],
            },
            headers=api_headers,
        ),
        201,
    )
    subscription = await _ok(
        await client.post(
            "/v1/subscriptions",
            json={"customer_id": customer["id"], "price_id": product["prices"][0]["id"]},
            headers=api_headers,
        ),
        201,
    )
    return {"product": product, "customer": customer, "subscription": subscription}


async def test_coupons_are_created_listed_in_pages_read_and_updated(client, api_headers):
    created = [
        await _ok(await client.post("/v1/coupons", json=body, headers=api_headers), 201)
        for body in (
            PERCENT,
            {"name": "Ten off", "amount_off": 1000, "currency": "EUR", "duration": "once"},
            {"name": "Quarter", "percent_off": "12.5", "duration": "repeating", "duration_periods": 3},
        )
    ]
    assert [c["percent_off"] for c in created] == ["20", None, "12.5"]
    assert created[1]["amount_off"] == 1000
    assert created[1]["currency"] == "EUR"
    first = await _ok(await client.get("/v1/coupons", params={"limit": 2}, headers=api_headers))
    assert [c["id"] for c in first["items"]] == [c["id"] for c in created[:2]]
    rest = await _ok(
        await client.get(
            "/v1/coupons", params={"limit": 2, "cursor": first["next_cursor"]}, headers=api_headers
        )
    )
    assert [c["id"] for c in rest["items"]] == [created[2]["id"]]
    assert rest["next_cursor"] is None
    path = f"/v1/coupons/{created[0]['id']}"
    assert (await _ok(await client.get(path, headers=api_headers)))["name"] == "Spring sale"
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    patched = await _ok(
        await client.patch(
            path,
            json={
                "name": "Spring",
                "active": False,
                "max_redemptions": 50,
                "redeem_by": until,
                "percent_off": 30,
            },
            headers=api_headers,
        )
    )
    assert (patched["name"], patched["active"], patched["max_redemptions"], patched["percent_off"]) == (
        "Spring",
        False,
        50,
        "30",
    )
    cleared = await _ok(await client.patch(path, json={"max_redemptions": None}, headers=api_headers))
    assert cleared["max_redemptions"] is None
    assert cleared["redeem_by"] is not None


GHOST = "3f2c9a1e-8d4b-4c55-9a0e-2f6d7b8c1a2e"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "Both", "percent_off": 10, "amount_off": 100, "currency": "EUR", "duration": "once"}, 422),
        ({"name": "Neither", "duration": "once"}, 422),
        ({"name": "No currency", "amount_off": 100, "duration": "once"}, 422),
        ({"name": "Too much", "percent_off": 120, "duration": "once"}, 422),
        ({"name": "Fine print", "percent_off": "10.125", "duration": "once"}, 422),
        ({"name": "No count", "percent_off": 10, "duration": "repeating"}, 422),
        ({"name": "Count", "percent_off": 10, "duration": "forever", "duration_periods": 2}, 422),
        ({"name": "Past", "percent_off": 10, "duration": "once", "redeem_by": "2001-01-01T00:00:00Z"}, 422),
        ({"name": "Ghost", "percent_off": 10, "duration": "once", "products": [GHOST]}, 404),
        ({"name": "Odd", "percent_off": 10, "duration": "weekly"}, 400),
        ({"name": "Negative", "amount_off": -5, "currency": "EUR", "duration": "once"}, 400),
    ],
)
async def test_bad_coupons_are_refused_with_a_problem_and_write_nothing(client, api_headers, body, status):
    problem = _problem(await client.post("/v1/coupons", json=body, headers=api_headers), status)
    assert problem["detail"]
    assert (await _ok(await client.get("/v1/coupons", headers=api_headers)))["items"] == []


async def test_an_idempotency_key_replays_the_same_coupon(client, api_headers):
    headers = {**api_headers, "Idempotency-Key": "coupon-once"}
    first = await _ok(await client.post("/v1/coupons", json=PERCENT, headers=headers), 201)
    again = await _ok(await client.post("/v1/coupons", json=PERCENT, headers=headers), 201)
    assert again["id"] == first["id"]
    assert len((await _ok(await client.get("/v1/coupons", headers=api_headers)))["items"]) == 1


async def test_promotion_codes_and_the_subscription_discount(client, api_headers, shop, org):
    coupon = await _ok(await client.post("/v1/coupons", json=PERCENT, headers=api_headers), 201)
    codes = f"/v1/coupons/{coupon['id']}/promotion-codes"
    code = await _ok(await client.post(codes, json={"code": "SPRING20"}, headers=api_headers), 201)
    assert code["per_customer_limit"] == 1
    assert code["times_redeemed"] == 0
    _problem(await client.post(codes, json={"code": "spring20"}, headers=api_headers), 409)
    _problem(await client.post(codes, json={"code": "no spaces"}, headers=api_headers), 400)
    path = f"/v1/subscriptions/{shop['subscription']['id']}/discount"
    refused = _problem(await client.post(path, json={"promotion_code": "WINTER"}, headers=api_headers), 422)
    assert refused["reason"] == "unknown"
    _problem(await client.post(path, json={}, headers=api_headers), 422)

    applied = await _ok(await client.post(path, json={"promotion_code": "spring20"}, headers=api_headers))
    assert applied["discount"]["name"] == "Spring sale"
    assert applied["discount"]["promotion_code"] == "SPRING20"
    assert applied["discount"]["periods_left"] is None
    again = _problem(await client.post(path, json={"promotion_code": "Spring20"}, headers=api_headers), 422)
    assert again["reason"] == "already_used"
    listed = await _ok(await client.get(codes, headers=api_headers))
    assert [c["times_redeemed"] for c in listed] == [1]
    terms = await client.patch(f"/v1/coupons/{coupon['id']}", json={"percent_off": 50}, headers=api_headers)
    assert _problem(terms, 409)["detail"]

    removed = await _ok(await client.delete(path, headers=api_headers))
    assert removed["discount"] is None
    _problem(await client.delete(path, headers=api_headers), 409)
    updated = [
        e["data"] for e in await _events(org, "subscription.updated") if e["data"]["id"] == applied["id"]
    ]
    assert [bool(data["discount"]) for data in updated[-2:]] == [True, False]


async def _events(shop, type_):
    rows = await WebhookEvent.select(WebhookEvent.payload, WebhookEvent.type).where(
        WebhookEvent.type == type_
    )
    return [{"data": msgspec.json.decode(r["payload"])} for r in rows]


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_the_discount_is_its_own_line_before_tax_everywhere(client, api_headers, shop, org):
    coupon = await _ok(await client.post("/v1/coupons", json=PERCENT, headers=api_headers), 201)
    sub = f"/v1/subscriptions/{shop['subscription']['id']}"
    await _ok(await client.post(f"{sub}/discount", json={"coupon_id": coupon["id"]}, headers=api_headers))

    upcoming = await _ok(await client.get(f"{sub}/upcoming-invoice", headers=api_headers))
    assert [(line["kind"], line["description"], line["amount"]) for line in upcoming["lines"]] == [
        ("base", "Studio", 1000),
        ("discount", "Spring sale", -200),
    ]
    assert (upcoming["subtotal"], upcoming["tax_amount"], upcoming["total"]) == (800, 152, 952)

    upgrade = shop["product"]["prices"][1]["id"]
    preview = await _ok(
        await client.get(f"{sub}/plan-change-preview", params={"price_id": upgrade}, headers=api_headers)
    )
    assert preview["proration"] > 0
    [line] = preview["discount_lines"]
    assert line["description"] == "Spring sale"
    assert line["amount"] == -((preview["proration"] * 20 + 50) // 100)  # 20 %, rounded half up
    discounted = preview["proration"] + line["amount"]
    assert preview["proration_tax"] == (discounted * 19 + 50) // 100  # 19 %, rounded half up
    assert preview["proration_total"] == discounted + preview["proration_tax"]

    await _ok(await client.post(f"{sub}/change-plan", json={"price_id": upgrade}, headers=api_headers))
    orders = await _ok(
        await client.get(
            "/v1/orders", params={"subscription_id": shop["subscription"]["id"]}, headers=api_headers
        )
    )
    order = orders["items"][-1]
    assert [(line["kind"], line["amount"]) for line in order["lines"]] == [
        ("proration", preview["proration"]),
        ("discount", line["amount"]),
    ]
    assert order["subtotal"] == discounted
    assert order["tax_amount"] == preview["proration_tax"]
    assert order["total"] == preview["proration_total"]
    sent = next(e["data"] for e in await _events(org, "order.created") if e["data"]["id"] == order["id"])
    assert sent["lines"] == order["lines"]

    pdf = await client.get(f"/v1/orders/{order['id']}/invoice", headers=api_headers)
    assert pdf.status_code == 200
    assert "Spring sale" in _pdf_text(pdf.content)
    assert order["status"] == "paid"
    assert "Spring sale" in _pdf_text(await order_service.receipt_pdf(org.org.id, order["id"]))
