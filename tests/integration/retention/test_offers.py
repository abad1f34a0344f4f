"""Retention offers: the merchant's settings over HTTP (problem+json on bad input), who may see an offer (the
once-per-window rule by moving the clock, read-only sessions, subscriptions set to end), and each offer
accepted through its action, with the preview it showed, the revenue kept and the webhooks."""

from datetime import timedelta

import msgspec
import pytest

from server.clock import FrozenClock, use_clock
from server.db.tables import Order, RetentionOffer, WebhookEvent
from server.discounts import service as discounts
from server.errors import Conflict
from server.retention import service as retention
from server.subscriptions import service as subscriptions
from server.subscriptions.service import cancel_subscription, create_subscription, renew_subscription
from tests.integration.factories import make_price, make_product
from tests.integration.subscriptions.test_subscriptions import START, paying_customer


def _problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


@pytest.fixture
async def shop(org):
    """Two monthly plans of one product (30.00 and 12.00) and a coupon of 50% off for two renewals."""
    product = await make_product(org.org.id, "Studio")
    pro = await make_price(org.org.id, product, amount=3000)
    lite = await make_price(org.org.id, product, amount=1200)
    coupon = await discounts.create_coupon(
        org.org.id, name="Half off", percent_off=50, duration="repeating", duration_periods=2
    )
    return {"product": product, "pro": pro, "lite": lite, "coupon": coupon}


def _settings(shop, window_months=12):
    return {
        "window_months": window_months,
        "offers": {
            "too_expensive": {"kind": "plan", "price_id": str(shop["lite"].id), "message": "Try Lite."},
            "unused": {"kind": "pause", "pause_periods": 2, "message": "Take a break."},
            "missing_features": {
                "kind": "coupon",
                "coupon_id": str(shop["coupon"].id),
                "message": "Half off.",
            },
        },
    }


@pytest.fixture
def frozen():
    with use_clock(FrozenClock(START)) as moving:
        yield moving


@pytest.fixture
async def subscribed(client, api_headers, org, keyring, shop, frozen):
    """The offers of ``_settings`` in place, and a customer paying for Studio Pro."""
    saved = await client.put("/v1/retention-settings", json=_settings(shop), headers=api_headers)
    assert saved.status_code == 200, saved.text
    customer = await paying_customer(org, keyring)
    return customer, await create_subscription(org.org.id, customer.id, shop["pro"].id)


async def _events(org, type_):
    rows = await WebhookEvent.objects().where(WebhookEvent.org == org.org.id, WebhookEvent.type == type_)
    return [msgspec.json.decode(row.payload) for row in rows]


async def test_settings_are_read_and_replaced_over_http(client, api_headers, shop):
    empty = (await client.get("/v1/retention-settings", headers=api_headers)).json()
    assert empty == {"window_months": 12, "offers": {}, "updated_at": None}
    body = _settings(shop, window_months=6)
    saved = await client.put("/v1/retention-settings", json=body, headers=api_headers)
    assert saved.status_code == 200, saved.text
    again = (await client.get("/v1/retention-settings", headers=api_headers)).json()
    assert again["window_months"] == 6
    assert again["offers"] == body["offers"]
    assert again["updated_at"] is not None


@pytest.mark.parametrize(
    ("offer", "detail"),
    [
        ({"kind": "plan", "price_id": "pro", "message": "x"}, "is not cheaper than any other plan"),
        (
            {"kind": "coupon", "coupon_id": "00000000-0000-4000-8000-000000000000", "message": "x"},
            "no coupon",
        ),
        ({"kind": "pause", "message": "x"}, "takes pause_periods"),
        ({"kind": "pause", "pause_periods": 1, "coupon_id": "coupon", "message": "x"}, "and only that"),
    ],
)
async def test_bad_settings_are_refused_with_problem_json(client, api_headers, shop, offer, detail):
    offer = {
        key: str(shop[value].id) if key in ("price_id", "coupon_id") and value in shop else value
        for key, value in offer.items()
    }
    response = await client.put(
        "/v1/retention-settings", json={"offers": {"too_expensive": offer}}, headers=api_headers
    )
    assert detail in _problem(response, 422)["detail"]
    unknown_reason = await client.put(
        "/v1/retention-settings",
        json={"offers": {"bored": {"kind": "pause", "pause_periods": 1, "message": "x"}}},
        headers=api_headers,
    )
    assert "unknown field `bored`" in _problem(unknown_reason, 400)["detail"]
    blank = await client.put(
        "/v1/retention-settings",
        json={"offers": {"unused": {"kind": "pause", "pause_periods": 1, "message": "   "}}},
        headers=api_headers,
    )
    assert "message" in _problem(blank, 400)["detail"]
    assert (await client.get("/v1/retention-settings", headers=api_headers)).json()["offers"] == {}


async def test_a_plan_offer_shows_the_plan_change_preview_and_switches_when_accepted(
    org, shop, frozen, subscribed
):
    customer, sub = subscribed
    offer = await retention.present(org.org.id, customer.id, sub.id, "too_expensive", read_only=False)
    assert offer is not None
    assert offer.kind == "plan"
    assert offer.message == "Try Lite."
    expected = await subscriptions.preview_plan_change(org.org.id, sub.id, shop["lite"].id)
    assert offer.plan == expected
    assert (offer.plan_name, offer.current_amount, offer.plan.new_amount) == ("Studio", 3000, 1200)

    accepted = await retention.accept(org.org.id, customer.id, offer.id)
    assert (accepted.outcome, accepted.monthly_revenue_kept, accepted.currency) == ("accepted", 1200, "USD")
    after = await subscriptions.get_subscription(org.org.id, sub.id)
    assert str(after.pending_price) == str(shop["lite"].id)  # a downgrade waits for the period end
    [event] = await _events(org, "subscription.retention_offer_accepted")
    assert event["reason"] == "too_expensive"
    assert event["subscription"]["pending_price_id"] == str(shop["lite"].id)
    with pytest.raises(Conflict):
        await retention.accept(org.org.id, customer.id, offer.id)


async def test_a_pause_offer_skips_its_renewals_then_bills_again_on_its_own(org, shop, frozen, subscribed):
    customer, sub = subscribed
    offer = await retention.present(org.org.id, customer.id, sub.id, "unused", read_only=False)
    assert offer is not None
    assert offer.pause is not None
    assert offer.pause == await subscriptions.preview_pause(org.org.id, sub.id, periods=2)
    assert offer.pause.charges_skipped == 6000
    assert offer.pause.skipped_renewals[0] == sub.current_period_end
    accepted = await retention.accept(org.org.id, customer.id, offer.id)
    assert accepted.monthly_revenue_kept == 3000
    paused = await subscriptions.get_subscription(org.org.id, sub.id)
    assert (paused.status, paused.resumes_at) == ("paused", offer.pause.resumes_at)

    def totals():
        return Order.select(Order.total).where(Order.subscription == sub.id).order_by(Order.created_at)

    for renewal in offer.pause.skipped_renewals:
        frozen.set(renewal + timedelta(minutes=1))
        assert await renew_subscription(org.org.id, sub.id) is None
    frozen.set(offer.pause.resumes_at + timedelta(minutes=1))
    order = await renew_subscription(org.org.id, sub.id)
    assert order is not None
    assert (order.total, order.status) == (3000, "paid")
    resumed = await subscriptions.get_subscription(org.org.id, sub.id)
    assert (resumed.status, resumed.resumes_at, resumed.paused_at) == ("active", None, None)
    assert [row["total"] for row in await totals()] == [3000, 3000]


async def test_a_coupon_offer_shows_the_discounted_renewal_and_applies_the_coupon(
    org, shop, frozen, subscribed
):
    customer, sub = subscribed
    offer = await retention.present(org.org.id, customer.id, sub.id, "missing_features", read_only=False)
    assert offer is not None
    assert offer.discount is not None
    assert (offer.discount.total_without, offer.discount.next_invoice.total) == (3000, 1500)
    accepted = await retention.accept(org.org.id, customer.id, offer.id)
    assert accepted.monthly_revenue_kept == 1500
    after = await subscriptions.get_subscription(org.org.id, sub.id)
    assert (await subscriptions.preview_next_invoice(org.org.id, sub.id)).total == 1500
    assert msgspec.json.decode(after.discount)["coupon_id"] == str(shop["coupon"].id)


async def test_an_offer_is_shown_once_per_window_and_declining_is_recorded(org, frozen, subscribed):
    customer, sub = subscribed  # a window of 12 months
    first = await retention.present(org.org.id, customer.id, sub.id, "missing_features", read_only=False)
    assert first is not None
    reopened = await retention.present(org.org.id, customer.id, sub.id, "missing_features", read_only=False)
    assert reopened is not None
    assert reopened.id == first.id
    declined = await retention.decline(org.org.id, customer.id, first.id)
    assert declined.outcome == "declined"
    assert declined.monthly_revenue_kept == 0
    [event] = await _events(org, "subscription.retention_offer_declined")
    assert (event["id"], event["subscription_id"]) == (str(first.id), str(sub.id))
    for reason in ("missing_features", "unused", "too_expensive"):
        assert await retention.present(org.org.id, customer.id, sub.id, reason, read_only=False) is None
    frozen.advance(timedelta(days=360))
    assert await retention.present(org.org.id, customer.id, sub.id, "unused", read_only=False) is None
    frozen.advance(timedelta(days=10))  # 12 months after the first offer
    later = await retention.present(org.org.id, customer.id, sub.id, "unused", read_only=False)
    assert later is not None
    assert later.kind == "pause"
    assert await RetentionOffer.count().where(RetentionOffer.customer == customer.id) == 2


async def test_no_offer_to_a_read_only_session_a_subscription_set_to_end_or_without_an_offer(
    org, shop, frozen, subscribed
):
    customer, sub = subscribed
    assert await retention.present(org.org.id, customer.id, sub.id, "unused", read_only=True) is None
    assert await retention.present(org.org.id, customer.id, sub.id, "other", read_only=False) is None
    assert await retention.present(org.org.id, customer.id, sub.id, "", read_only=False) is None
    await cancel_subscription(org.org.id, sub.id, reason="unused")
    assert await retention.present(org.org.id, customer.id, sub.id, "unused", read_only=False) is None
    assert await RetentionOffer.count().where(RetentionOffer.customer == customer.id) == 0


async def test_an_offer_answered_after_the_subscription_was_set_to_end_is_refused(
    org, shop, frozen, subscribed
):
    customer, sub = subscribed
    offer = await retention.present(org.org.id, customer.id, sub.id, "unused", read_only=False)
    assert offer is not None
    await cancel_subscription(org.org.id, sub.id)
    with pytest.raises(Conflict):
        await retention.accept(org.org.id, customer.id, offer.id)
    assert (await subscriptions.get_subscription(org.org.id, sub.id)).status == "active"


async def test_the_console_offers_only_plans_that_can_keep_someone_and_active_coupons(org, shop):
    retired = await discounts.create_coupon(org.org.id, name="Retired", percent_off=10, duration="once")
    await discounts.update_coupon(org.org.id, retired.id, active=False)
    plans, coupons = await retention.offer_choices(org.org.id)
    assert [(plan.price_id, plan.amount) for plan in plans] == [(shop["lite"].id, 1200)]  # not the dearest
    assert [coupon.coupon_id for coupon in coupons] == [shop["coupon"].id]
