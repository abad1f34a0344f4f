"""``POST /v1/events`` over HTTP: the strict body check (decoded straight into the schema, with the slow
path only for bodies that fail it) and what a refused batch leaves behind."""

from datetime import UTC, datetime, timedelta

from server.db.tables import UsageEvent
from server.metering.service import usage_totals
from tests.integration.factories import make_customer

START = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


def _event(customer_id, **fields):
    return {"name": "call", "customer_id": str(customer_id), "occurred_at": START.isoformat(), **fields}


async def test_an_integral_float_counts_as_an_integer(client, api_headers, org):
    customer = await make_customer(org.org.id)
    response = await client.post(
        "/v1/events", json={"events": [_event(customer.id, value=2.0)]}, headers=api_headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"inserted": 1, "duplicates": 0, "capped_customers": []}
    totals = await usage_totals(org.org.id, customer.id, ["call"], START, START + timedelta(days=1))
    assert (totals["call"].total, totals["call"].event_count) == (2, 1)


async def test_coercions_unknown_fields_and_broken_json_are_refused_and_store_nothing(
    client, api_headers, org
):
    customer = await make_customer(org.org.id)
    good = _event(customer.id, value=1)
    bodies = {
        "a string for an integer": {"events": [good, _event(customer.id, value="5")]},
        "a fraction for an integer": {"events": [good, _event(customer.id, value=2.5)]},
        "a number for a string": {"events": [good, _event(customer.id, event_id=7)]},
        "an unknown field": {"events": [good, _event(customer.id, surprise=True)]},
        "a negative value": {"events": [good, _event(customer.id, value=-1)]},
    }
    for label, body in bodies.items():
        response = await client.post("/v1/events", json=body, headers=api_headers)
        assert response.status_code == 400, label
        assert response.headers["content-type"].startswith("application/problem+json"), label
        assert "does not match the schema" in response.json()["detail"], label
    broken = await client.post(
        "/v1/events",
        content=b'{"events": [',
        headers={**api_headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert await UsageEvent.count().where(UsageEvent.customer == customer.id) == 0
