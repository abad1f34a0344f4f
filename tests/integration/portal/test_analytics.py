"""Analytics from real portal sessions and actions, checked figure by figure; the activity log."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from server import clock
from server.clock import FrozenClock, use_clock
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.tokens import mint_portal_token

from .conftest import PARENT
from .test_subscriptions_view import _plans, _subscribed

FIRST_PARTY = "http://127.0.0.1:8000"


async def _open(client, org, customer, origin=PARENT):
    token = mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret)
    response = await client.post("/embed/session", json={"token": token, "origin": origin})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['session']}"}


def _analytics_cli(settings, tmp_path, org):
    """``selfserve analytics`` for the last day, as the merchant runs it; what it printed."""
    env = {
        **os.environ,
        "SELFSERVE_DATABASE_URL": settings.database_url,
        "SELFSERVE_SECRET_KEYS": settings.secret_keys[0],
        "SELFSERVE_DATA_DIR": str(tmp_path),
    }
    selfserve = Path(sys.executable).parent / "selfserve"
    return subprocess.run(
        [str(selfserve), "analytics", "--org", org.org.slug, "--days", "1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


async def _customer(org, name):
    return await create_customer(org.org.id, CustomerCreate(email=f"{name}@example.com", name=name))


async def test_every_figure_matches_what_customers_did(client, org, keyring, api_headers, settings, tmp_path):
    plans = await _plans(org)
    ann, bob, cy = [await _customer(org, n) for n in ("ann", "bob", "cy")]
    ann_sub = await _subscribed(org, ann, keyring, plans["Pro"])
    bob_sub = await _subscribed(org, bob, keyring, plans["Pro"])
    start = clock.now() - timedelta(minutes=10)  # in the past, so the CLI's "last day" (real now) covers it
    frozen = FrozenClock(start)
    with use_clock(frozen):
        ann_s = await _open(client, org, ann)
        bob_s = await _open(client, org, bob)
        cy_s = await _open(client, org, cy, origin=FIRST_PARTY)
        await client.get("/embed/views/overview", headers=ann_s)
        await client.get("/embed/views/subscriptions", headers=ann_s)
        await client.get("/embed/views/subscriptions", headers=bob_s)
        await client.get("/embed/views/settings", headers=cy_s)
        for headers, sub in ((ann_s, ann_sub), (bob_s, bob_sub)):
            await client.get(
                "/embed/views/subscriptions",
                params={"action": "cancel", "subscription_id": str(sub.id)},
                headers=headers,
            )
        await client.get(
            "/embed/views/subscriptions",
            params={
                "action": "cancel",
                "subscription_id": str(ann_sub.id),
                "step": "review",
                "reason": "too_expensive",
            },
            headers=ann_s,
        )
        bad = {"number": "4000000000000002", "exp_month": "12", "exp_year": "2099", "cvc": "123"}
        assert (
            await client.post("/embed/views/settings/add_card", data=bad, headers=cy_s)
        ).status_code == 402
        frozen.advance(timedelta(seconds=60))
        good = {**bad, "number": "4242424242424242"}
        assert (
            await client.post("/embed/views/settings/add_card", data=good, headers=cy_s)
        ).status_code == 200
        frozen.advance(timedelta(seconds=60))
        done = await client.post(
            "/embed/views/subscriptions/cancel",
            data={
                "subscription_id": str(ann_sub.id),
                "reason": "too_expensive",
                "comment": "Moving to annual",
            },
            headers=ann_s,
        )
        assert done.status_code == 200
        response = await client.get(
            "/v1/analytics/portal",
            params={
                "start": (start - timedelta(hours=1)).isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
            },
            headers=api_headers,
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["logins_per_day"] == [
        {"day": start.date().isoformat(), "count": 3, "by_method": {"embed": 2, "link": 1}}
    ]
    assert body["views_per_section"] == {"subscriptions": 2, "overview": 1, "settings": 1}
    assert body["actions"] == [
        {"action": "settings.add_card", "outcome": "failed", "count": 1},
        {"action": "settings.add_card", "outcome": "succeeded", "count": 1},
        {"action": "subscriptions.cancel", "outcome": "succeeded", "count": 1},
    ]
    assert body["cancellation_reasons"] == [
        {"reason": "too_expensive", "count": 1, "comments": ["Moving to annual"]}
    ]
    assert body["cancel_funnel"] == {"started": 2, "completed": 1, "abandoned": 1}
    assert body["median_seconds_to_action"] == 90

    printed = _analytics_cli(settings, tmp_path, org)
    assert f"Portal analytics for {org.org.name}" in printed
    assert "Portal sessions: 3  (embed 2, link 1)" in printed
    assert "Cancel flow: 2 started, 1 completed, 1 abandoned" in printed
    assert '"Moving to annual"' in printed
    assert "█" in printed
    assert "1 min 30 s" in printed


async def test_activity_log_shows_each_change_once_with_its_actor_and_customer(
    client, org, keyring, api_headers
):
    plans = await _plans(org)
    ann, bob = await _customer(org, "ann2"), await _customer(org, "bob2")
    sub = await _subscribed(org, ann, keyring, plans["Pro"])
    await _subscribed(org, bob, keyring, plans["Starter"])
    session = await _open(client, org, ann)
    done = await client.post(
        "/embed/views/subscriptions/cancel", data={"subscription_id": str(sub.id)}, headers=session
    )
    assert done.status_code == 200
    response = await client.get(f"/v1/customers/{ann.id}/activity", headers=api_headers)
    assert response.status_code == 200
    entries = response.json()["items"]
    names = [(e["name"], e["actor"]) for e in entries]
    assert names.count(("subscription.canceled", "customer")) == 1
    assert ("subscription.created", "merchant") in names
    assert ("payment_method.updated", "merchant") in names
    bob_entries = (await client.get(f"/v1/customers/{bob.id}/activity", headers=api_headers)).json()["items"]
    assert all(e["details"].get("id") != str(sub.id) for e in bob_entries)
    assert ("subscription.canceled", "customer") not in [(e["name"], e["actor"]) for e in bob_entries]
    page = await client.get("/embed/views/settings", headers=session)
    assert "Subscription canceled" in page.text
    assert "by you" in page.text
    missing = await client.get(f"/v1/customers/{org.org.id}/activity", headers=api_headers)
    assert missing.status_code == 404


async def test_the_report_window_is_checked(client, api_headers):
    for params in (
        {"end": "-788"},
        {"start": ""},
        {"start": "yesterday"},
        {"start": "2026-11-02", "end": "2026-11-01"},
    ):
        response = await client.get("/v1/analytics/portal", params=params, headers=api_headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
    too_long = {"start": "2024-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    assert (await client.get("/v1/analytics/portal", params=too_long, headers=api_headers)).status_code == 422
    ok = await client.get("/v1/analytics/portal", params={"start": "2026-11-01"}, headers=api_headers)
    assert ok.status_code == 200
    assert ok.json()["start"].startswith("2026-11-01T00:00:00")


async def test_the_cli_report_shows_what_customers_wrote_without_terminal_escapes(
    client, org, keyring, settings, tmp_path
):
    ann = await _customer(org, "ann")
    subscription = await _subscribed(org, ann, keyring, (await _plans(org))["Pro"])
    comment = "Bye\x1b[2J\x1b]0;owned\x07 \u202enaive\x9b31m\nReason: none"
    done = await client.post(
        "/embed/views/subscriptions/cancel",
        data={"subscription_id": str(subscription.id), "reason": "other", "comment": comment},
        headers=await _open(client, org, ann),
    )
    assert done.status_code == 200, done.text

    printed = _analytics_cli(settings, tmp_path, org)
    assert '"Bye\\x1b[2J\\x1b]0;owned\\x07 \\u202enaive\\x9b31m\\x0aReason: none"' in printed
    assert not any(c in printed for c in "\x1b\x07\u202e\x9b")
    assert all(line.isprintable() for line in printed.splitlines())
