from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address

import pytest

from server.mail.queue import MailContent
from server.mail.transport import SmtpUrlError, build_mime, parse_smtp_url, sender_address

CONTENT = MailContent(html="<p>Hello</p>", text="Hello\n", sender_name="Acme", reply_to="help@acme.test")


def test_smtp_url_with_credentials_and_port():
    server = parse_smtp_url("smtp://user%40acme:p%3Ass@mail.example.com:2525")
    assert (server.hostname, server.port, server.username, server.password, server.implicit_tls) == (
        "mail.example.com",
        2525,
        "user@acme",
        "p:ss",
        False,
    )


def test_smtp_url_defaults():
    assert parse_smtp_url("smtp://mail.example.com").port == 25
    implicit = parse_smtp_url("smtps://mail.example.com")
    assert (implicit.port, implicit.implicit_tls, implicit.username) == (465, True, None)


def test_smtp_server_repr_hides_the_password():
    assert "s3cret" not in repr(parse_smtp_url("smtp://u:s3cret@mail.example.com"))


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "smtp://", "smtp://host:notaport", "mail.example.com"]
)
def test_bad_smtp_urls_are_refused_clearly(url):
    with pytest.raises(SmtpUrlError, match="SELFSERVE_SMTP_URL"):
        parse_smtp_url(url)


def test_sender_is_support_email_or_noreply_on_public_host():
    assert sender_address("help@acme.test", "https://billing.example.com") == "help@acme.test"
    assert sender_address("", "https://billing.example.com:8443/base") == "noreply@billing.example.com"


def test_mime_is_multipart_alternative_with_headers():
    mime = build_mime(
        message_id="abc",
        sender=Address(display_name="Åcme, Inc.", addr_spec="noreply@billing.example.com"),
        to="jo@example.com",
        subject="Sign in",
        content=CONTENT,
        date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    parsed = message_from_bytes(mime.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["From"].addresses[0].display_name == "Åcme, Inc."
    assert parsed["From"].addresses[0].addr_spec == "noreply@billing.example.com"
    assert parsed["Reply-To"] == "help@acme.test"
    assert parsed["Message-ID"] == "<abc@billing.example.com>"
    assert parsed.get_body(("plain",)).get_content() == "Hello\n"
    assert parsed.get_body(("html",)).get_content() == "<p>Hello</p>\n"


def test_no_reply_to_header_without_one():
    mime = build_mime(
        message_id="abc",
        sender=Address(display_name="Acme", addr_spec="noreply@x.example"),
        to="jo@example.com",
        subject="Sign in",
        content=MailContent(html="<p>x</p>", text="x", sender_name="Acme"),
        date=datetime(2026, 1, 2, tzinfo=UTC),
    )
    assert "Reply-To" not in mime
