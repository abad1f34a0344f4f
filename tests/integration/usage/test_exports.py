"""CSV exports through the API and the portal: usage per day and meter and orders, checked row by row,
across page boundaries, and on a generated dataset larger than a page."""

import csv
import io
import random
from datetime import UTC, datetime, timedelta

from server.analytics import exports
from server.billing.orders import LineDraft, create_order
from server.clock import FrozenClock, use_clock
from server.db.tables import Order
from server.metering.service import UsageEventIn, ingest_events
from tests.integration.factories import make_meter
from tests.integration.portal.conftest import fetch_document
from tests.integration.usage.support import metered_customer

START = datetime(2027, 3, 1, tzinfo=UTC)


def rows_of(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.text)))


async def test_usage_csv_has_a_row_per_day_and_meter(client, org, api_headers, monkeypatch):
    org_id = org.org.id
    metered = await metered_customer(org_id, START)  # summing meter "Api.Call"
    counted = await make_meter(org_id, "job.run", aggregation="count")
    customer = metered.customer.id
    events = [
        UsageEventIn(name="api.call", customer_id=customer, value=v, occurred_at=START + timedelta(days=d))
        for v, d in ((5, 0), (7, 0), (11, 2))
    ] + [
        UsageEventIn(name="job.run", customer_id=customer, value=99, occurred_at=START + timedelta(days=d))
        for d in (0, 1, 1)
    ]
    with use_clock(FrozenClock(START + timedelta(days=3))):
        await ingest_events(org_id, events)
    monkeypatch.setattr(exports, "PAGE", 2)  # four rows over three pages
    rows = rows_of(await client.get(f"/v1/customers/{customer}/usage.csv", headers=api_headers))
    call, job = str(metered.meter.id), str(counted.id)
    assert rows == [
        ["date", "meter_id", "meter", "event_name", "unit", "value"],
        ["2027-03-01", call, "Api.Call", "api.call", "units", "12"],
        ["2027-03-01", job, "Job.Run", "job.run", "units", "1"],
        ["2027-03-02", job, "Job.Run", "job.run", "units", "2"],
        ["2027-03-03", call, "Api.Call", "api.call", "units", "11"],
    ]
    missing = await client.get(f"/v1/customers/{org_id}/usage.csv", headers=api_headers)
    assert missing.status_code == 404


async def test_usage_csv_of_a_generated_dataset_larger_than_a_page(client, org, api_headers):
    """1,400 days of two meters (2,800 rows, three pages of 1,000) from 6,000 random events."""
    org_id = org.org.id
    metered = await metered_customer(org_id, START)
    await make_meter(org_id, "job.run", aggregation="count")
    rng = random.Random(7)
    expected: dict[tuple[str, str], int] = {}
    events = []
    for day in range(1400):
        for name in ("api.call", "job.run"):
            value = rng.randrange(1, 50)
            at = START + timedelta(days=day, hours=rng.randrange(24))
            events.append(
                UsageEventIn(name=name, customer_id=metered.customer.id, value=value, occurred_at=at)
            )
            key = (at.date().isoformat(), name)
            expected[key] = expected.get(key, 0) + (value if name == "api.call" else 1)
    events += [
        UsageEventIn(name="api.call", customer_id=metered.customer.id, value=1, occurred_at=START)
        for _ in range(3200)
    ]
    expected[(START.date().isoformat(), "api.call")] += 3200
    for first in range(0, len(events), 1000):
        await ingest_events(org_id, events[first : first + 1000])
    response = await client.get(f"/v1/customers/{metered.customer.id}/usage.csv", headers=api_headers)
    rows = rows_of(response)[1:]
    assert len(rows) == len(expected) == 2800
    assert {(r[0], r[3]): int(r[5]) for r in rows} == expected
    assert [(r[0], r[3]) for r in rows] == sorted(expected)


async def test_orders_csv_lists_every_order_oldest_first(client, org, api_headers, monkeypatch):
    org_id = org.org.id
    metered = await metered_customer(org_id, START)
    made = []
    for index in range(7):
        line = LineDraft(
            kind="one_time",
            description=f"Item {index}",
            quantity=1,
            unit_amount=100 * index,
            amount=100 * index,
        )
        with use_clock(FrozenClock(START + timedelta(hours=index))):
            made.append(
                await create_order(
                    org_id,
                    metered.customer.id,
                    subscription_id=None,
                    billing_reason="purchase",
                    currency="EUR",
                    lines=[line],
                )
            )
    monkeypatch.setattr(exports, "PAGE", 3)
    rows = rows_of(await client.get(f"/v1/customers/{metered.customer.id}/orders.csv", headers=api_headers))
    assert rows[0] == list(exports.ORDERS_HEADER)
    listed = rows[1:]
    ids, made_ids = [r[0] for r in listed], [str(o.id) for o in made]
    assert [i for i in ids if i in made_ids] == made_ids
    assert len(set(ids)) == len(ids) == await Order.count().where(Order.customer == metered.customer.id)
    by_id = {r[0]: r for r in listed}
    for order in made:
        row = by_id[str(order.id)]
        assert row[1] == order.invoice_number
        assert row[3] == order.status
        assert (row[5], int(row[6]), int(row[9])) == ("EUR", order.subtotal, order.total)
        assert row[2] == order.created_at.isoformat()


async def test_the_portal_downloads_both_exports_through_single_use_links(client, org, open_session):
    org_id = org.org.id
    metered = await metered_customer(org_id, START)
    event = UsageEventIn(name="api.call", customer_id=metered.customer.id, value=42, occurred_at=START)
    await ingest_events(org_id, [event])
    other = await metered_customer(org_id, START, event_name="other.call")
    with use_clock(FrozenClock(START + timedelta(days=2))):
        session = await open_session(customer_id=metered.customer.id)
        headers = {"Authorization": f"Bearer {session}"}
        for view, kind, first_row in (
            (
                "usage",
                "usage_csv",
                ["2027-03-01", str(metered.meter.id), "Api.Call", "api.call", "units", "42"],
            ),
            ("orders", "orders_csv", None),
        ):
            page = await client.get(f"/embed/views/{view}", headers=headers)
            path = f"/embed/documents/{kind}/{metered.customer.id}"
            assert f'href="{path}" data-document download' in page.text
            link, download = await fetch_document(client, path, headers)
            rows = rows_of(download)
            assert rows[0] == list(exports.USAGE_HEADER if kind == "usage_csv" else exports.ORDERS_HEADER)
            if first_row:
                assert rows[1:] == [first_row]
            else:
                assert [r[0] for r in rows[1:]] == [
                    str(o.id) for o in await Order.objects().where(Order.customer == metered.customer.id)
                ]
            assert (await client.get(link)).status_code == 410  # single use
        # a link for another customer's data is refused
        stranger = await client.post(f"/embed/documents/usage_csv/{other.customer.id}", headers=headers)
        assert stranger.status_code == 201
        assert (await client.get(stranger.json()["url"])).status_code == 410
