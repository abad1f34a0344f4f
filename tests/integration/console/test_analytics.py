"""Analytics in the console: the report's figures for 7, 30 or 90 days, as charts with their tables."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.analytics import portal_analytics as pa
from server.clock import FrozenClock, use_clock
from server.db.tables import PortalSession
from server.enums import StaffRole
from tests.integration.factories import make_customer

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def may():
    with use_clock(FrozenClock(NOW)) as frozen:
        yield frozen


async def _session(org_id, customer, opened):
    session = PortalSession(
        org=org_id,
        customer=customer.id,
        kind="embed",
        token_hash=uuid.uuid4().hex,
        created_at=opened,
        last_seen_at=opened,
        expires_at=opened + timedelta(minutes=30),
    )
    await session.save()
    return session.id


async def _seed(org_id):
    customer = await make_customer(org_id)
    recent, older = NOW - timedelta(days=2), NOW - timedelta(days=20)
    s1, s2 = await _session(org_id, customer, recent), await _session(org_id, customer, recent)
    s3 = await _session(org_id, customer, older)
    events = [
        (recent, pa.SESSION_OPENED, s1, "", {"via": "embed"}),
        (recent + timedelta(seconds=30), pa.VIEW_OPENED, s1, "", {"view": "subscriptions"}),
        (recent + timedelta(seconds=40), pa.CANCEL_STARTED, s1, "", {"subscription_id": "a"}),
        (
            recent + timedelta(seconds=90),
            pa.ACTION,
            s1,
            "succeeded",
            {"view": "subscriptions", "action": "cancel"},
        ),
        (recent + timedelta(seconds=91), pa.CANCEL_COMPLETED, s1, "", {"subscription_id": "a"}),
        (recent, pa.SESSION_OPENED, s2, "", {"via": "magic_link"}),
        (recent + timedelta(seconds=5), pa.VIEW_OPENED, s2, "", {"view": "orders"}),
        (recent + timedelta(seconds=6), pa.VIEW_OPENED, s2, "", {"view": "subscriptions"}),
        (older, pa.SESSION_OPENED, s3, "", {"via": "link"}),
        (older + timedelta(seconds=10), pa.CANCEL_STARTED, s3, "", {"subscription_id": "b"}),
        (older + timedelta(seconds=30), pa.ACTION, s3, "failed", {"view": "settings", "action": "add_card"}),
    ]
    for moment, name, session, outcome, props in events:
        with use_clock(FrozenClock(moment)):
            await pa.record(org_id, customer.id, name, session_id=session, outcome=outcome, properties=props)
    return customer, (s1, s2, s3)


def _figure(page, name):
    return re.search(rf'data-figure="{name}">([^<]+)<', page).group(1).strip()


async def test_seven_and_thirty_days_count_what_happened_in_them(org, may, staff_as):
    await _seed(org.org.id)
    viewer = await staff_as(StaffRole.VIEWER)
    week = (await viewer.get("/console/analytics", params={"days": 7})).text
    assert _figure(week, "sessions") == "2"
    assert '<th scope="row">subscriptions</th><td class="ss-num">2</td>' in week
    assert '<th scope="row">orders</th><td class="ss-num">1</td>' in week
    assert (_figure(week, "started"), _figure(week, "completed"), _figure(week, "abandoned")) == (
        "1",
        "1",
        "0",
    )
    assert _figure(week, "resolution") == "90 s"  # opened, then the cancel succeeded 90 s later
    assert "settings.add_card" not in week
    month = (await viewer.get("/console/analytics", params={"days": 30})).text
    assert _figure(month, "sessions") == "3"
    assert "settings.add_card" in month
    assert (_figure(month, "started"), _figure(month, "abandoned")) == ("2", "1")
    assert 'aria-current="page">Last 30 days' in month
    assert month.count('class="ss-chart-svg"') >= 4
    svg = month[month.index("<svg") : month.rindex("</svg>")]
    assert "<script" not in svg
    assert "<style" not in svg
    assert (await viewer.get("/console/analytics", params={"days": 45})).text.count(
        'aria-current="page">Last 30'
    ) == 1


async def test_no_activity_is_said_in_words_not_an_empty_chart(org, may, staff_as):
    viewer = await staff_as(StaffRole.VIEWER)
    page = (await viewer.get("/console/analytics")).text
    assert _figure(page, "sessions") == "0"
    assert "No sessions." in page
    assert "ss-chart-svg" not in page
    assert _figure(page, "resolution") == "no completed actions"
