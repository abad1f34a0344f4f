"""SMTP over TLS with a real server: STARTTLS plus AUTH for ``smtp://user:pass@…``, implicit TLS for
``smtps://``. The test CA is trusted through the standard ``SSL_CERT_FILE`` variable, as an operator would."""

import dataclasses
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.db.engine import write_transaction
from server.db.tables import EmailMessage
from server.enums import EmailStatus
from server.mail import queue_email
from server.worker import JobContext
from tests.integration.mail.support import drain, start_smtp


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certificate path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "selfserve test smtp")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def server_tls(certificate, monkeypatch):
    cert_path, key_path = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


class Credentials:
    def __init__(self, login: bytes, password: bytes) -> None:
        self.expected = (login, password)
        self.seen: list[tuple[bytes, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.seen.append((auth_data.login, auth_data.password))
        # handled=False: aiosmtpd then answers 235 or 535 itself
        return AuthResult(success=(auth_data.login, auth_data.password) == self.expected, handled=False)


async def _queue(keyring, org_id, to):
    async with write_transaction():
        return await queue_email(
            keyring,
            org_id,
            to=to,
            subject="Hi",
            template="magic_link",
            context={"url": "https://x.example/l"},
        )


async def test_starttls_and_auth_from_the_smtp_url(
    org, keyring, settings, smtp_port, server_tls, recipient, frozen
):
    credentials = Credentials(b"mailer@shop", b"p:ss/word")
    controller, inbox = start_smtp(
        smtp_port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=credentials,
        auth_required=True,
    )
    url = f"smtp://mailer%40shop:p%3Ass%2Fword@127.0.0.1:{smtp_port}"
    try:
        message = await _queue(keyring, org.org.id, recipient)
        await drain(JobContext(dataclasses.replace(settings, smtp_url=url), keyring))
    finally:
        controller.stop()
    assert len(inbox.received_by(recipient)) == 1
    assert credentials.seen == [(b"mailer@shop", b"p:ss/word")]
    row = await EmailMessage.select(EmailMessage.status).where(EmailMessage.id == message.id).first()
    assert row["status"] == EmailStatus.SENT


async def test_smtps_uses_implicit_tls(org, keyring, settings, smtp_port, server_tls, recipient, frozen):
    controller, inbox = start_smtp(smtp_port, ssl_context=server_tls)
    try:
        await _queue(keyring, org.org.id, recipient)
        await drain(
            JobContext(dataclasses.replace(settings, smtp_url=f"smtps://127.0.0.1:{smtp_port}"), keyring)
        )
    finally:
        controller.stop()
    assert len(inbox.received_by(recipient)) == 1


async def test_a_wrong_password_is_a_failure_to_retry(
    org, keyring, settings, smtp_port, server_tls, recipient, frozen
):
    credentials = Credentials(b"mailer", b"right")
    controller, inbox = start_smtp(
        smtp_port, tls_context=server_tls, authenticator=credentials, auth_required=True
    )
    try:
        message = await _queue(keyring, org.org.id, recipient)
        url = f"smtp://mailer:wrong@127.0.0.1:{smtp_port}"
        await drain(JobContext(dataclasses.replace(settings, smtp_url=url), keyring))
    finally:
        controller.stop()
    assert inbox.received_by(recipient) == []
    row = await EmailMessage.select().where(EmailMessage.id == message.id).first()
    assert (row["status"], row["attempts"]) == (EmailStatus.QUEUED, 1)
    assert row["last_error"].startswith("SMTPAuthenticationError")
    assert "wrong" not in row["last_error"]
