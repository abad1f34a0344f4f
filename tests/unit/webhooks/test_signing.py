import base64
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

from server.webhooks.delivery import MAX_ATTEMPTS, RETRY_DELAYS, parse_retry_after, retry_delay
from server.webhooks.signing import generate_secret, message_body, webhook_headers


def test_secrets_are_whsec_and_32_random_bytes():
    secrets = {generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_a_signed_message_verifies_with_the_standardwebhooks_package():
    secret = generate_secret()
    body = message_body(
        "order.paid", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), {"id": "o_1", "amount": 1250}
    )
    now = int(datetime.now(UTC).timestamp())
    headers = webhook_headers([secret], "evt_1", now, body)
    payload = standardwebhooks.Webhook(secret).verify(body, headers)
    assert payload == {
        "type": "order.paid",
        "timestamp": "2026-01-02T03:04:05+00:00",
        "data": {"id": "o_1", "amount": 1250},
    }


def test_a_tampered_body_or_another_secret_does_not_verify():
    secret = generate_secret()
    body = message_body("order.paid", datetime.now(UTC), {"id": "o_1"})
    headers = webhook_headers([secret], "evt_1", int(datetime.now(UTC).timestamp()), body)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body.replace(b"o_1", b"o_2"), headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(generate_secret()).verify(body, headers)


def test_during_rotation_each_secret_verifies_alone():
    new, old = generate_secret(), generate_secret()
    body = message_body("customer.updated", datetime.now(UTC), {"id": "c"})
    headers = webhook_headers([new, old], "evt_9", int(datetime.now(UTC).timestamp()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert all(s.startswith("v1,") for s in headers["webhook-signature"].split(" "))
    for secret in (new, old):
        assert standardwebhooks.Webhook(secret).verify(body, headers)["data"] == {"id": "c"}


def test_the_retry_schedule_spans_about_three_days_over_ten_attempts():
    assert MAX_ATTEMPTS == 10
    total = sum(RETRY_DELAYS, timedelta())
    assert timedelta(days=2.5) <= total <= timedelta(days=3.5)
    assert list(RETRY_DELAYS) == sorted(RETRY_DELAYS)


@pytest.mark.parametrize("failed", range(1, MAX_ATTEMPTS))
def test_retry_delays_are_jittered_within_ten_percent(failed):
    base = RETRY_DELAYS[failed - 1]
    delays = {retry_delay(failed) for _ in range(20)}
    assert len(delays) > 1
    assert all(base * 0.9 <= d <= base * 1.1 for d in delays)


def test_retry_after_is_honoured_but_capped_at_a_day():
    assert retry_delay(1, timedelta(hours=2)) == timedelta(hours=2)
    assert retry_delay(1, timedelta(days=30)) == timedelta(days=1)
    assert retry_delay(9, timedelta(seconds=5)) >= RETRY_DELAYS[8] * 0.9


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == timedelta(seconds=120)
    assert parse_retry_after("Sun, 01 Mar 2026 13:00:00 GMT", now) == timedelta(hours=1)
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
