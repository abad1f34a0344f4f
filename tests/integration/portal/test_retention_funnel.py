"""The retention funnel from a scripted set of cancel flows, through the portal as customers go through it:
every figure of ``GET /v1/analytics/portal`` and ``selfserve analytics`` by reason and offer, and the monthly
revenue the accepted offers keep."""

import re

from .test_analytics import _analytics_cli, _customer, _open
from .test_subscriptions_view import _plans, _subscribed

OFFER_ID = re.compile(r'name="offer_id" value="([0-9a-f-]{36})"')


async def _flow(client, headers, sub, reason, answer):
    """One cancel flow: opened, a reason given (or none), then ``answer``: ``accept`` or ``decline`` the
    offer shown, ``cancel`` (declining any offer first), or ``leave``."""
    view = "/embed/views/subscriptions"
    base = {"action": "cancel", "subscription_id": str(sub.id)}
    assert (await client.get(view, params=base, headers=headers)).status_code == 200
    if reason is None:
        return
    page = await client.get(view, params={**base, "step": "review", "reason": reason}, headers=headers)
    offer = OFFER_ID.search(page.text)
    if answer in ("accept", "decline") or (answer == "cancel" and offer):
        assert offer, page.text
        action = "accept_offer" if answer == "accept" else "decline_offer"
        form = {"offer_id": offer.group(1), "subscription_id": str(sub.id), "reason": reason}
        assert (await client.post(f"{view}/{action}", data=form, headers=headers)).status_code == 200
    if answer == "cancel":
        form = {"subscription_id": str(sub.id), "reason": reason}
        assert (await client.post(f"{view}/cancel", data=form, headers=headers)).status_code == 200


async def test_the_funnel_and_the_revenue_kept_follow_the_flows(
    client, org, keyring, api_headers, settings, tmp_path
):
    plans = await _plans(org)
    coupon = await client.post(
        "/v1/coupons", json={"name": "Quarter", "percent_off": 25, "duration": "forever"}, headers=api_headers
    )
    offers = {
        "unused": {"kind": "pause", "pause_periods": 1, "message": "Pause instead."},
        "too_expensive": {"kind": "plan", "price_id": plans["Starter"], "message": "Starter is cheaper."},
        "missing_features": {"kind": "coupon", "coupon_id": coupon.json()["id"], "message": "25% off."},
    }
    saved = await client.put("/v1/retention-settings", json={"offers": offers}, headers=api_headers)
    assert saved.status_code == 200, saved.text
    script = [  # who, reason, answer
        ("ann", "unused", "accept"),  # keeps Pro's 20.00 a month once the pause ends
        ("bob", "missing_features", "cancel"),  # declines the coupon, cancels
        ("cy", "too_expensive", "accept"),  # keeps Starter's 10.00
        ("dee", "other", "cancel"),  # no offer for this reason
        ("eve", None, "leave"),  # opened the flow, gave no reason
        ("fay", "missing_features", "leave"),  # saw the coupon, answered nothing
        ("gus", "missing_features", "accept"),  # keeps 20.00 less 25%: 15.00
    ]
    for name, reason, answer in script:
        customer = await _customer(org, f"funnel-{name}")
        sub = await _subscribed(org, customer, keyring, plans["Pro"])
        await _flow(client, await _open(client, org, customer), sub, reason, answer)

    response = await client.get("/v1/analytics/portal", headers=api_headers)
    assert response.status_code == 200, response.text
    funnel = response.json()["retention"]
    assert {key: value for key, value in funnel.items() if key != "by_reason"} == {
        "started": 7,
        "reason_given": 6,
        "offers_shown": 5,
        "accepted": 3,
        "declined": 1,
        "canceled": 2,
        "abandoned": 2,
        "revenue_kept": {"USD": 2000 + 1000 + 1500},
    }

    def step(reason, offer, shown, accepted, declined, canceled, abandoned, kept):
        counts = (shown, accepted, declined, canceled, abandoned)
        revenue = {"USD": kept} if kept else {}
        started = {"missing_features": 3}.get(reason, 1)
        return {
            "reason": reason,
            "offer": offer,
            "started": started,
            **dict(
                zip(("offers_shown", "accepted", "declined", "canceled", "abandoned"), counts, strict=True)
            ),
            "revenue_kept": revenue,
        }

    assert funnel["by_reason"] == [
        step("missing_features", "coupon", 3, 1, 1, 1, 1, 1500),
        step("other", "", 0, 0, 0, 1, 0, 0),
        step("too_expensive", "plan", 1, 1, 0, 0, 0, 1000),
        step("unspecified", "", 0, 0, 0, 0, 1, 0),
        step("unused", "pause", 1, 1, 0, 0, 0, 2000),
    ]
    assert response.json()["cancel_funnel"] == {"started": 7, "completed": 2, "abandoned": 5}

    printed = _analytics_cli(settings, tmp_path, org)
    assert (
        "Retention: 7 cancel flows started, 6 gave a reason, 5 saw an offer, 3 accepted, 1 declined, "
        "2 canceled, 2 abandoned; kept $45.00/month"
    ) in printed
    assert (
        "  missing_features (coupon offer): 3 started, 3 shown, 1 accepted, 1 declined, 1 canceled, "
        "1 abandoned; kept $15.00/month"
    ) in printed
    assert "  other (no offer): 1 started, 0 shown, 0 accepted, 0 declined, 1 canceled" in printed
