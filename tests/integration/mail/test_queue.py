import uuid

import msgspec
import pytest

from server.db.engine import write_transaction
from server.db.tables import EmailMessage, Organization
from server.enums import EmailStatus
from server.errors import Invalid, NotFound
from server.mail import queue_email
from server.mail.queue import read_content
from server.schemas.portal_settings import Branding

LINK = "https://billing.example.com/portal/shop/login?token=tok_SECRET_abc123"


async def _queue(keyring, org_id, to="jo@customer.example", **overrides):
    arguments = {"subject": "Sign in", "template": "magic_link", "context": {"url": LINK}, **overrides}
    async with write_transaction():
        return await queue_email(keyring, org_id, to=to, **arguments)


async def test_queued_message_is_stored_encrypted_and_due_now(org, keyring, recipient):
    message = await _queue(keyring, org.org.id, to=recipient)
    row = await EmailMessage.select().where(EmailMessage.id == message.id).first()
    assert row["status"] == EmailStatus.QUEUED
    assert row["attempts"] == 0
    assert row["to_address"] == recipient
    assert row["next_attempt_at"] == row["created_at"]
    assert "tok_SECRET" not in row["body_encrypted"]
    content = read_content(keyring, row["body_encrypted"])
    assert LINK in content.text
    assert content.sender_name == org.org.name
    assert content.reply_to is None


async def test_merchant_branding_sender_and_intro_are_used(org, keyring):
    branding = Branding(primary_color="#0a7d33", logo_url="https://cdn.example.com/logo.png")
    await Organization.update({Organization.branding: msgspec.json.encode(branding).decode()}).where(
        Organization.id == org.org.id
    )
    message = await _queue(
        keyring, org.org.id, sender_name="Shop Support", reply_to="help@shop.example", intro="Welcome back!"
    )
    content = read_content(keyring, message.body_encrypted)
    assert content.sender_name == "Shop Support"
    assert content.reply_to == "help@shop.example"
    assert "background:#0a7d33" in content.html
    assert 'src="https://cdn.example.com/logo.png"' in content.html
    assert "Welcome back!" in content.text


class Boom(Exception):
    pass


async def _queue_then_fail(keyring, org_id, recipient):
    async with write_transaction():
        await queue_email(
            keyring, org_id, to=recipient, subject="Hi", template="magic_link", context={"url": LINK}
        )
        raise Boom


async def test_rolled_back_transaction_queues_nothing(org, keyring, recipient):
    with pytest.raises(Boom):
        await _queue_then_fail(keyring, org.org.id, recipient)
    assert await EmailMessage.count().where(EmailMessage.to_address == recipient) == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"to": "not-an-address"},
        {"to": "a@b.example\r\nBcc: victim@x.example"},
        {"subject": "Hi\r\nBcc: victim@x.example"},
        {"subject": ""},
        {"reply_to": "nobody"},
        {"sender_name": "Evil\nBcc: x@y.example"},
        {"intro": "x" * 501},
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(org, keyring, overrides):
    before = await EmailMessage.count().where(EmailMessage.org == org.org.id)
    with pytest.raises(Invalid):
        await _queue(keyring, org.org.id, **overrides)
    assert await EmailMessage.count().where(EmailMessage.org == org.org.id) == before


async def test_unknown_org_is_not_found(engine, keyring):
    with pytest.raises(NotFound):
        await _queue(keyring, uuid.uuid4())
