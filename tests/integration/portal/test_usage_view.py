"""The usage view: this cycle's usage, included amount, limit, percentage, overage and its cost, a trend."""

from server import clock
from server.billing.payments import add_payment_method
from server.catalog.schemas import MeterCreate, PriceCreate, PriceMeterIn, ProductCreate
from server.catalog.service import create_meter, create_product, product_views
from server.enums import Interval, MeterAggregation, PriceKind
from server.i18n import format_day
from server.metering.service import UsageEventIn, ingest_events
from server.subscriptions.service import create_subscription
from server.wallet.service import credit


def bearer(session):
    return {"Authorization": f"Bearer {session}"}


async def test_no_metered_plan_shows_an_explanation(client, open_session):
    page = await client.get("/embed/views/usage", headers=bearer(await open_session()))
    assert page.status_code == 200
    assert "None of your plans is billed by usage." in page.text


async def test_usage_against_included_and_limit_with_overage_cost(
    client, open_session, org, customer, keyring
):
    meter = await create_meter(
        org.org.id,
        MeterCreate(
            name="API requests",
            event_name="api.request",
            unit_name="requests",
            aggregation=MeterAggregation.SUM,
        ),
    )
    product = await create_product(
        org.org.id,
        ProductCreate(
            name="API",
            prices=[
                PriceCreate(
                    kind=PriceKind.METERED,
                    interval=Interval.MONTH,
                    currency="USD",
                    amount=900,
                    meters=[
                        PriceMeterIn(
                            meter_id=meter.id,
                            included_units=1000,
                            unit_amount=200,
                            unit_batch=1000,
                            usage_limit=5000,
                        )
                    ],
                )
            ],
        ),
    )
    [view] = await product_views(org.org.id, [product])
    await add_payment_method(
        org.org.id,
        customer.id,
        keyring=keyring,
        number="4242424242424242",
        exp_month=12,
        exp_year=clock.now().year + 2,
        cvc="123",
    )
    await create_subscription(org.org.id, customer.id, view.prices[0].id)
    now = clock.now()
    await ingest_events(
        org.org.id,
        [
            UsageEventIn(name="api.request", customer_id=customer.id, value=500, occurred_at=now)
            for _ in range(5)
        ],
    )
    await credit(org.org.id, customer.id, 300, "USD", "usage", "Usage credit")
    session = await open_session()
    page = await client.get("/embed/views/usage", headers=bearer(session))
    text = page.text
    assert "API requests" in text
    assert "2,500</span> requests" in text
    assert "250% of the 1,000 included" in text  # against what is included, not the limit
    assert '5,000 requests <span class="ss-hint">(50% used)' in text
    assert 'class="ss-card ss-level-over"' in text
    assert "You are beyond what is included" in text
    assert 'width="100"' in text.split('class="ss-meter-fill"')[0].rsplit("<rect", 1)[1]
    assert "1,500 requests" in text
    # 1,500 beyond included is 1.5 batches of 1,000, billed rounded half up: 2 batches at $2
    assert "$4.00 so far" in text
    assert "Daily usage this period" in text
    today = clock.now()
    assert f">{today.strftime('%b')} {today.day}<" in text  # a date on the axis
    for scripting in ("<script", "<style", 'style="'):  # nothing the strict CSP refuses
        assert scripting not in text
    assert f'aria-label="{format_day(today)}: 2,500 requests"' in text  # what a bar says on focus
    assert "Show as a table" in text
    assert "$3.00" in text.split("Credit")[-1]
    # the page's language writes the numbers too, not only the words: German groups thousands with a dot
    german = await client.get("/embed/views/usage", headers={**bearer(session), "x-selfserve-locale": "de"})
    assert "2.500</span> requests" in german.text
    assert "250 % der enthaltenen 1.000" in german.text
    assert '5.000 requests <span class="ss-hint">' in german.text
    assert "1.500 requests" in german.text
    assert "2,500" not in german.text
    # and orders a date on the chart's axis its own way: the month first in Japanese
    japanese = await client.get("/embed/views/usage", headers={**bearer(session), "x-selfserve-locale": "ja"})
    assert f">{today.month}月{today.day}日<" in japanese.text
