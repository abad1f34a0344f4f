"""The magic-link request tells nobody whether an email is known, and cannot be used to flood a mailbox."""

import re
import statistics
import time
import uuid
from datetime import timedelta

import httpx

from server import clock
from server.db.tables import Customer, EmailMessage
from tests.integration.hosted.conftest import emailed_token, open_token, request_link
from tests.integration.mail.support import drain, start_smtp


def _normalized(response):
    """Status, body and headers with the per-request CSP nonce (random on every page) taken out."""
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
    headers = sorted((k, v.replace(nonce, "N")) for k, v in response.headers.items())
    return response.status_code, response.text.replace(nonce, "N"), headers


async def _mails_to(address):
    return await EmailMessage.count().where(EmailMessage.to_address == address)


async def test_known_and_unknown_emails_get_the_same_answer(client, org, customer):
    known = await request_link(client, org, customer.email)
    unknown = await request_link(client, org, customer.email.replace("ada-", "nobody-"))
    assert known.status_code == 202
    known_status, known_body, known_headers = _normalized(known)
    unknown_status, unknown_body, unknown_headers = _normalized(unknown)
    assert known_status == unknown_status
    assert known_body.replace(customer.email, "E") == unknown_body.replace(
        customer.email.replace("ada-", "nobody-"), "E"
    )
    assert [k for k, _ in known_headers] == [k for k, _ in unknown_headers]
    assert dict(known_headers) | {"content-length": ""} == dict(unknown_headers) | {"content-length": ""}
    assert await _mails_to(customer.email) == 1


async def test_known_and_unknown_emails_take_the_same_time(app, org):
    """200 alternating requests, each from its own address and IP (so no limit interferes): the medians
    of known and unknown emails differ by less than 5 ms."""
    now = clock.now()
    known = [f"known-{uuid.uuid4().hex[:10]}@example.com" for _ in range(100)]
    await Customer.insert(
        *(Customer(org=org.org.id, email=e, name="K", created_at=now, updated_at=now) for e in known)
    )
    unknown = [f"unknown-{uuid.uuid4().hex[:10]}@example.com" for _ in range(100)]
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(200):
        kind, email = ("known", known[i // 2]) if i % 2 == 0 else ("unknown", unknown[i // 2])
        transport = httpx.ASGITransport(app=app, client=(f"10.0.{i // 250}.{i % 250 + 1}", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            started = time.perf_counter()
            response = await request_link(http, org, email)
            timings[kind].append(time.perf_counter() - started)
        assert response.status_code == 202, response.text
    difference = abs(statistics.median(timings["known"]) - statistics.median(timings["unknown"]))
    assert difference < 0.005, timings


async def test_the_seventh_request_in_a_minute_is_refused_and_sends_nothing(client, org, customer, frozen):
    frozen.set(frozen.now().replace(second=0, microsecond=0) + timedelta(minutes=1))
    for _ in range(6):
        assert (await request_link(client, org, customer.email)).status_code == 202
    seventh = await request_link(client, org, customer.email)
    assert seventh.status_code == 429
    assert seventh.headers["retry-after"] == "900"
    assert "Too many sign-in requests" in seventh.text
    assert await _mails_to(customer.email) == 6

    frozen.advance(timedelta(minutes=14))  # a new minute, but the block lasts 15
    assert (await request_link(client, org, customer.email)).status_code == 429
    frozen.advance(timedelta(minutes=1, seconds=1))
    assert (await request_link(client, org, customer.email)).status_code == 202
    assert await _mails_to(customer.email) == 7


async def test_one_ip_is_limited_across_emails(client, org, frozen):
    frozen.set(frozen.now().replace(second=0, microsecond=0) + timedelta(minutes=1))
    answers = [
        (await request_link(client, org, f"x{i}-{uuid.uuid4().hex[:6]}@example.com")).status_code
        for i in range(7)
    ]
    assert answers == [202] * 6 + [429]


async def test_twelve_an_hour_per_email(app, org, customer, frozen):
    frozen.set(frozen.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
    answers = []
    for i in range(13):
        transport = httpx.ASGITransport(app=app, client=(f"10.1.0.{i + 1}", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            answers.append((await request_link(http, org, customer.email)).status_code)
        frozen.advance(timedelta(minutes=2))
    assert answers == [202] * 12 + [429]


async def test_smtp_down_still_answers_202_and_the_mail_arrives_later(
    client, org, customer, smtp_context, smtp_port, frozen
):
    assert (await request_link(client, org, customer.email)).status_code == 202
    await drain(smtp_context)  # nothing listens yet: the attempt fails and is rescheduled
    controller, inbox = start_smtp(smtp_port)
    try:
        frozen.advance(timedelta(minutes=1))
        _url, token = await emailed_token(inbox, smtp_context, customer.email)
    finally:
        controller.stop()
    assert (await open_token(client, org, token)).status_code == 303
