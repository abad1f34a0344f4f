import asyncio
import dataclasses
import html
import logging
from datetime import timedelta
from email import message_from_bytes, policy

from server.db.engine import write_transaction
from server.db.tables import EmailMessage, Organization
from server.enums import EmailStatus
from server.mail import queue_email
from server.mail.sending import MAX_ATTEMPTS, RETRY_DELAYS, send_due_emails
from server.worker import JobContext
from tests.integration.mail.support import drain, start_smtp

TOKEN = "tok_Zq8sL3cretLink0123456789"
LINK = f"https://billing.example.com/portal/shop/login?token={TOKEN}&next=%2Forders"


async def _queue(keyring, org_id, to, **extra):
    async with write_transaction():
        return await queue_email(
            keyring,
            org_id,
            to=to,
            subject="Your sign-in link",
            template="magic_link",
            context={"url": LINK},
            **extra,
        )


async def _row(message):
    return await EmailMessage.select().where(EmailMessage.id == message.id).first()


async def test_message_arrives_with_both_parts_and_headers(
    org, keyring, inbox, smtp_context, recipient, frozen
):
    await Organization.update({Organization.support_email: "help@shop.example"}).where(
        Organization.id == org.org.id
    )
    message = await _queue(
        keyring, org.org.id, recipient, sender_name="Shop Billing", reply_to="care@shop.example"
    )
    await drain(smtp_context)

    [received] = inbox.received_by(recipient)
    assert received.get_content_type() == "multipart/alternative"
    assert received["Subject"] == "Your sign-in link"
    assert received["To"] == recipient
    assert received["Reply-To"] == "care@shop.example"
    [sender] = received["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Shop Billing", "help@shop.example")
    assert LINK in received.get_body(("plain",)).get_content()
    assert f'href="{html.escape(LINK)}"' in received.get_body(("html",)).get_content()
    row = await _row(message)
    assert row["status"] == EmailStatus.SENT
    assert row["attempts"] == 1
    assert row["sent_at"] == frozen.now()
    assert row["locked_until"] is None


async def test_sender_defaults_to_org_name_at_noreply_of_public_host(
    org, keyring, inbox, smtp_context, recipient, frozen
):
    await _queue(keyring, org.org.id, recipient)
    await drain(smtp_context)
    [received] = inbox.received_by(recipient)
    [sender] = received["From"].addresses
    assert sender.display_name == org.org.name
    assert sender.addr_spec == "noreply@127.0.0.1"
    assert "Reply-To" not in received


async def test_smtp_down_then_back_delivers_exactly_once(
    org, keyring, smtp_context, smtp_port, recipient, frozen
):
    message = await _queue(keyring, org.org.id, recipient)
    await drain(smtp_context)  # nothing listens on smtp_port yet

    row = await _row(message)
    assert row["status"] == EmailStatus.QUEUED
    assert row["attempts"] == 1
    assert row["next_attempt_at"] == frozen.now() + RETRY_DELAYS[0]
    assert row["last_error"]
    assert row["locked_until"] is None

    controller, inbox = start_smtp(smtp_port)
    try:
        await drain(smtp_context)
        assert inbox.received_by(recipient) == []  # not due yet: the retry waits its turn
        frozen.advance(RETRY_DELAYS[0] + timedelta(seconds=1))
        await drain(smtp_context)
        await drain(smtp_context)
        assert len(inbox.received_by(recipient)) == 1
    finally:
        controller.stop()
    row = await _row(message)
    assert (row["status"], row["attempts"], row["last_error"]) == (EmailStatus.SENT, 2, "")


async def test_backoff_grows_then_gives_up(org, keyring, smtp_context, recipient, frozen):
    message = await _queue(keyring, org.org.id, recipient)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        await drain(smtp_context)
        row = await _row(message)
        assert row["attempts"] == attempt
        if attempt < MAX_ATTEMPTS:
            assert row["status"] == EmailStatus.QUEUED
            assert row["next_attempt_at"] == frozen.now() + RETRY_DELAYS[attempt - 1]
            frozen.set(row["next_attempt_at"])
    assert row["status"] == EmailStatus.FAILED
    assert sum(RETRY_DELAYS, timedelta()) >= timedelta(days=1)
    frozen.advance(timedelta(days=7))
    await drain(smtp_context)
    assert (await _row(message))["attempts"] == MAX_ATTEMPTS


async def test_concurrent_job_runs_send_each_message_once(org, keyring, inbox, smtp_context, frozen):
    recipients = [f"r{i}-{org.org.id.hex[:8]}@customer.example" for i in range(12)]
    for to in recipients:
        await _queue(keyring, org.org.id, to)
    await asyncio.gather(*(send_due_emails(smtp_context) for _ in range(6)))
    await drain(smtp_context)
    assert [len(inbox.received_by(to)) for to in recipients] == [1] * len(recipients)
    rows = await EmailMessage.select(EmailMessage.status, EmailMessage.attempts).where(
        EmailMessage.to_address.is_in(recipients)
    )
    assert {(r["status"], r["attempts"]) for r in rows} == {(EmailStatus.SENT, 1)}


async def test_without_smtp_url_a_readable_eml_lands_in_the_outbox(
    org, keyring, settings, recipient, frozen, tmp_path, caplog
):
    context = JobContext(dataclasses.replace(settings, smtp_url=None, data_dir=tmp_path), keyring)
    message = await _queue(keyring, org.org.id, recipient)
    with caplog.at_level(logging.INFO, logger="selfserve.mail"):
        await drain(context)

    path = tmp_path / "outbox" / f"{message.id}.eml"
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["To"] == recipient
    assert LINK in parsed.get_body(("plain",)).get_content()
    assert parsed.get_body(("html",)) is not None
    assert any(str(path) in record.getMessage() for record in caplog.records)
    assert (await _row(message))["status"] == EmailStatus.SENT


async def test_no_token_in_any_log_line(org, keyring, smtp_context, smtp_port, recipient, frozen, caplog):
    caplog.set_level(logging.DEBUG)
    message = await _queue(keyring, org.org.id, recipient, reply_to="care@shop.example")
    await drain(smtp_context)  # SMTP down: a failure is logged
    controller, inbox = start_smtp(smtp_port)
    try:
        frozen.advance(RETRY_DELAYS[0])
        await drain(smtp_context)
    finally:
        controller.stop()
    assert len(inbox.received_by(recipient)) == 1
    ours = [r for r in caplog.records if r.name != "mail.log"]  # "mail.log" is the test SMTP server itself
    assert any(str(message.id) in r.getMessage() for r in ours)
    for record in ours:
        assert TOKEN not in record.getMessage() + (record.exc_text or "")
        if record.name.startswith("selfserve"):
            assert recipient not in record.getMessage()


async def test_a_recipient_refused_for_good_fails_without_retries(
    org, keyring, inbox, smtp_context, recipient, frozen
):
    inbox.unknown_users.add(recipient)
    message = await _queue(keyring, org.org.id, recipient)
    await drain(smtp_context)
    row = await _row(message)
    assert (row["status"], row["attempts"]) == (EmailStatus.FAILED, 1)
    assert row["last_error"].startswith("SMTPRecipientsRefused")
    assert inbox.received_by(recipient) == []
