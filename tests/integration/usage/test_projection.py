"""The projection to the period's end follows the trend of the whole days so far (Theil-Sen: a spike moves
it little), priced by the invoice's rule; the usage view and GET /v1/customers/{id}/usage show it."""

from datetime import UTC, date, datetime, timedelta

from server.clock import FrozenClock, use_clock
from server.metering.service import DayUsage, project_usage
from server.usage import usage_report
from tests.integration.usage.support import metered_customer, use_daily

START = datetime(2027, 3, 1, tzinfo=UTC)
"""A 31-day period: March 2027."""
TODAY = START + timedelta(days=10, hours=6)
"""Day index 10: days 0 to 9 are whole."""


async def _report(org_id, customer_id):
    with use_clock(FrozenClock(TODAY)):
        [meter] = (await usage_report.customer_usage(org_id, customer_id)).meters
    return meter


async def test_a_linear_series_is_projected_along_its_line(org):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=1000, unit_amount=200, unit_batch=100)
    # 10, 20, ..., 100 on days 0-9; 40 so far today (day 10, whose trend value is 110)
    await use_daily(org_id, metered, START, [10 * (i + 1) for i in range(10)] + [40])
    meter = await _report(org_id, metered.customer.id)
    assert meter.figures.used == 550 + 40
    # used + today's remaining 70 + sum of 10i + 10 over days 11..30 = the whole line's 10 * (1 + ... + 31)
    assert meter.figures.projection == 590 + 70 + sum(10 * i + 10 for i in range(11, 31)) == 4960
    assert meter.figures.projected_overage_units == 3960
    # 39.6 batches of 100 bill as 40, at 2.00 each; the usage so far is under what is included
    assert (meter.projected_overage_amount, meter.overage_amount) == (8000, 0)


async def test_a_spike_does_not_bend_the_projection(org):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=5000, unit_amount=200, unit_batch=100)
    # 100 a day with 5,000 on day 3; today already 130, above its trend value of 100
    await use_daily(org_id, metered, START, [100, 100, 100, 5000, 100, 100, 100, 100, 100, 100, 130])
    meter = await _report(org_id, metered.customer.id)
    assert meter.figures.used == 6030
    # slopes: 36 pairs without day 3 are 0, 3 are positive, 6 negative: the median is 0, the level 100
    assert meter.figures.projection == 6030 + 0 + 20 * 100 == 8030
    # (a least-squares line through the same days falls after the spike and projects 6,041)
    assert meter.figures.projected_overage_units == 3030
    assert meter.overage_amount == 1030 // 100 * 200  # 10.3 batches bill 10
    assert meter.projected_overage_amount == 30 * 200  # 30.3 batches bill 30


def test_no_projection_before_a_whole_day_and_the_usage_itself_once_the_days_are_over():
    first, last = date(2027, 3, 1), date(2027, 3, 31)
    assert project_usage(7, [DayUsage(day=first, value=7)], first, last) is None
    days = [DayUsage(day=first + timedelta(days=i), value=3) for i in range(31)]
    assert project_usage(93, days, date(2027, 4, 1), last) == 93
    # one whole day is a flat trend; a falling trend stops at zero rather than taking usage back
    assert project_usage(5, [DayUsage(day=first, value=5)], date(2027, 3, 2), last) == 5 * 31
    falling = [DayUsage(day=first + timedelta(days=i), value=v) for i, v in enumerate([30, 20, 10])]
    assert project_usage(60, falling, date(2027, 3, 4), last) == 60


async def test_the_api_returns_every_meter_with_its_projection(client, org, api_headers):
    org_id = org.org.id
    metered = await metered_customer(
        org_id, START, included=1000, unit_amount=200, unit_batch=100, limit=9000
    )
    await use_daily(org_id, metered, START, [10 * (i + 1) for i in range(10)] + [40])
    with use_clock(FrozenClock(TODAY)):
        response = await client.get(f"/v1/customers/{metered.customer.id}/usage", headers=api_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == str(metered.customer.id)
    [meter] = body["meters"]
    assert meter["subscription_id"] == str(metered.subscription.id)
    assert meter["meter_id"] == str(metered.meter.id)
    assert (meter["usage"], meter["included"], meter["limit"]) == (590, 1000, 9000)
    assert (meter["percent_of_included"], meter["percent_of_limit"], meter["level"]) == (59, 7, "ok")
    assert (meter["projection"], meter["projected_overage_units"]) == (4960, 3960)
    assert (meter["overage_amount"], meter["projected_overage_amount"], meter["currency"]) == (0, 8000, "USD")
    assert meter["period_start"].startswith("2027-03-01T00:00:00")
    assert meter["period_end"].startswith("2027-04-01T00:00:00")
    missing = await client.get(f"/v1/customers/{org_id}/usage", headers=api_headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_the_usage_view_shows_the_projection_and_its_cost(client, org, open_session):
    org_id = org.org.id
    metered = await metered_customer(org_id, START, included=1000, unit_amount=200, unit_batch=100)
    await use_daily(org_id, metered, START, [10 * (i + 1) for i in range(10)] + [40])
    with use_clock(FrozenClock(TODAY)):
        session = await open_session(customer_id=metered.customer.id)
        page = await client.get("/embed/views/usage", headers={"Authorization": f"Bearer {session}"})
    assert page.status_code == 200
    projected = page.text.split("Projected by the end of the period")[1].split("</dd>")[0]
    assert "4,960 units" in projected
    assert "$80.00 beyond what is included" in projected


async def test_the_usage_view_waits_for_a_whole_day_before_projecting(client, org, open_session):
    org_id = org.org.id
    metered = await metered_customer(org_id, START)
    await use_daily(org_id, metered, START, [40])
    with use_clock(FrozenClock(START + timedelta(hours=8))):
        session = await open_session(customer_id=metered.customer.id)
        page = await client.get("/embed/views/usage", headers={"Authorization": f"Bearer {session}"})
    assert "Shown after the first full day of this period." in page.text
