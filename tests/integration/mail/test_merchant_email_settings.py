"""The merchant sets how its portal emails present it (sender name, reply-to, a short intro)."""

from server.db.engine import write_transaction
from server.db.tables import EmailMessage
from server.mail import queue_email
from server.mail.queue import read_content


async def test_portal_settings_shape_every_email(client, org, api_headers, keyring):
    email = {
        "sender_name": "Acme Billing",
        "reply_to": "help@acme.example",
        "intro": "Hello from the Acme team.",
    }
    patched = await client.patch("/v1/portal-settings", json={"email": email}, headers=api_headers)
    assert patched.status_code == 200, patched.text
    assert (await client.get("/v1/portal-settings", headers=api_headers)).json()["email"] == email
    async with write_transaction():
        await queue_email(
            keyring,
            org.org.id,
            to="ada@example.com",
            subject="Your sign-in link",
            template="magic_link",
            context={"url": "https://billing.example.com/portal/acme#token=x"},
        )
    message = await EmailMessage.objects().where(EmailMessage.org == org.org.id).first()
    content = read_content(keyring, message.body_encrypted)
    assert content.sender_name == "Acme Billing"
    assert content.reply_to == "help@acme.example"
    assert "Hello from the Acme team." in content.text
    assert "Hello from the Acme team." in content.html


async def test_unsendable_email_settings_are_refused_and_change_nothing(client, org, api_headers):
    for bad in (
        {"sender_name": "Acme\r\nBcc: x@evil.example"},
        {"reply_to": "not an address"},
        {"intro": "x" * 501},
    ):
        response = await client.patch("/v1/portal-settings", json={"email": bad}, headers=api_headers)
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
    current = (await client.get("/v1/portal-settings", headers=api_headers)).json()["email"]
    assert current == {"sender_name": None, "reply_to": None, "intro": ""}
