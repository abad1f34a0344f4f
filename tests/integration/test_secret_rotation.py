"""Secrets at rest: every secret column is sealed with the rotating key list (or only hashed), and
``selfserve rotate-secrets`` seals 1,000 rows again under a new key while they stay readable, after which
the new key alone reads them all. Runs on a database of its own: the rest of the suite keeps its key."""

import asyncio
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from server import clock
from server.clock import FrozenClock, use_clock
from server.db.engine import bind_tables, close_engine, engine_from_url, open_engine
from server.db.migrate import migrate
from server.db.tables import (
    TABLES,
    EncryptedBytes,
    EncryptedText,
    IdempotencyRecord,
    Organization,
    WebhookEndpoint,
)
from server.organizations.api_keys import authenticate_api_key
from server.organizations.service import create_organization
from server.security.keyring import Keyring
from server.security.rotation import encrypted_columns, rotate_secrets
from tests.conftest import fresh_database

OLD, NEW = "old-secret-key-" + "o" * 32, "new-secret-key-" + "n" * 32
ROWS = 1_000
SECRET_NAME = re.compile(r"secret|token|password|credential|private|api_key")
PLAIN_ON_PURPOSE = {
    "ss_session.csrf_secret": "a per-session value that only works with the session's id, stored hashed",
    "ss_staff_session.csrf_secret": "the same for console sessions",
}
ENCRYPTED = {
    "ss_organization.embed_secret_encrypted",
    "ss_benefit_grant.secret_encrypted",
    "ss_webhook_endpoint.secret_encrypted",
    "ss_webhook_endpoint.previous_secret_encrypted",
    "ss_oauth_provider.client_secret_encrypted",
    "ss_payment_provider.secret_key_encrypted",
    "ss_payment_provider.webhook_secret_encrypted",
    "ss_idempotency_record.response_body",
    "ss_staff.totp_secret_encrypted",
    "ss_email_message.body_encrypted",
}


def _name(column) -> str:
    return f"{column._meta.table._meta.tablename}.{column._meta.name}"


def test_every_secret_column_is_sealed_or_only_hashed():
    """A new column named like a secret (a payment provider's key, say) fails here until it is declared
    ``EncryptedText``, and then ``rotate-secrets`` covers it without further code."""
    for table in TABLES:
        for column in table._meta.columns:
            name = _name(column)
            sealed = isinstance(column, EncryptedText | EncryptedBytes)
            if SECRET_NAME.search(column._meta.name) and not sealed:
                assert (
                    column._meta.name.endswith(("_hash", "_hint", "_expires_at")) or name in PLAIN_ON_PURPOSE
                ), f"{name} looks like a secret: declare it EncryptedText (or hash it)"
            if sealed:
                assert (
                    column._meta.name.endswith("_encrypted") or name == "ss_idempotency_record.response_body"
                )
    assert {_name(c) for c in encrypted_columns()} == ENCRYPTED


@pytest.fixture
async def own_database(db_kind, engine, tmp_path):
    """A migrated database of its own, bound for the test; the session's database is bound back after."""
    async with fresh_database(db_kind, tmp_path) as url:
        own = engine_from_url(url)
        await open_engine(own)
        try:
            await migrate(own)
            bind_tables(own)
            yield url
        finally:
            bind_tables(engine)
            await close_engine(own)


async def _webhook_secrets(box) -> dict[str, str]:
    rows = await WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.secret_encrypted)
    return {str(row["id"]): box.decrypt(row["secret_encrypted"]) for row in rows}


async def _webhook_secrets_except(box, url: str) -> list[str]:
    rows = await WebhookEndpoint.select(WebhookEndpoint.secret_encrypted).where(WebhookEndpoint.url != url)
    return [box.decrypt(row["secret_encrypted"]) for row in rows]


async def _seed(keyring, rows: int):
    """An organization (its embed secret, its API key), a remembered idempotent response, and ``rows``
    webhook endpoints, every tenth with a previous secret still in its grace period, all sealed with
    ``keyring``."""
    created = await create_organization(keyring, name="Rotating shop")
    now = clock.now()
    await IdempotencyRecord(
        org=created.org.id,
        key="create-ada",
        request_hash="0" * 64,
        completed=True,
        response_status=201,
        response_body=keyring.box.encrypt('{"email": "ada@example.com"}').encode(),
        created_at=now,
        expires_at=now + timedelta(hours=24),
    ).save()
    if rows:
        await WebhookEndpoint.insert(
            *(
                WebhookEndpoint(
                    org=created.org.id,
                    url=f"https://hooks.example.com/{i}",
                    secret_encrypted=keyring.box.encrypt(f"whsec_{i}"),
                    previous_secret_encrypted=keyring.box.encrypt(f"whsec_old_{i}") if i % 10 == 0 else None,
                    created_at=now,
                )
                for i in range(rows)
            )
        )
    return created


async def test_rotate_secrets_seals_1000_rows_under_the_new_key_while_they_stay_readable(own_database):
    old, both, new = Keyring([OLD]), Keyring([OLD, NEW]), Keyring([NEW])
    created = await _seed(old, ROWS)
    expected = await _webhook_secrets(old.box)
    rotation = asyncio.create_task(rotate_secrets(both.box, batch_rows=100))
    mixed = 0
    while not rotation.done():  # the running server (both keys) reads every secret throughout
        assert await _webhook_secrets(both.box) == expected
        rows = await WebhookEndpoint.select(WebhookEndpoint.secret_encrypted)
        under_new = sum(new.box.is_current(row["secret_encrypted"]) for row in rows)
        mixed += 0 < under_new < ROWS
    results = {r.column: (r.rotated, r.current, r.unreadable) for r in await rotation}
    assert results["ss_webhook_endpoint.secret_encrypted"] == (ROWS, 0, 0)
    assert results["ss_webhook_endpoint.previous_secret_encrypted"] == (ROWS // 10, 0, 0)
    assert results["ss_organization.embed_secret_encrypted"] == (1, 0, 0)
    assert results["ss_idempotency_record.response_body"] == (1, 0, 0)
    assert mixed, "no read saw the rotation half done"

    assert await _webhook_secrets(new.box) == expected
    for column in encrypted_columns():  # every sealed value of every table, with the new key alone
        for row in await column._meta.table.select(column).where(column.is_not_null()):
            value = row[column._meta.name]
            new.box.decrypt(value.decode() if isinstance(value, bytes) else value)
    org_row = await Organization.objects().where(Organization.id == created.org.id).first()
    assert new.box.decrypt(org_row.embed_secret_encrypted) == created.embed_secret
    remembered = await IdempotencyRecord.objects().where(IdempotencyRecord.org == created.org.id).first()
    assert new.box.decrypt(bytes(remembered.response_body).decode()) == '{"email": "ada@example.com"}'

    again = {r.column: (r.rotated, r.current) for r in await rotate_secrets(both.box)}
    assert again["ss_webhook_endpoint.secret_encrypted"] == (0, ROWS)


async def test_an_api_key_is_hashed_again_under_the_new_key_on_its_next_use(own_database):
    created = await _seed(Keyring([OLD]), 0)
    assert await authenticate_api_key(Keyring([NEW]), created.api_key) is None
    with use_clock(FrozenClock(clock.now() + timedelta(minutes=2))):  # its last use is stale
        assert await authenticate_api_key(Keyring([OLD, NEW]), created.api_key) is not None
    caller = await authenticate_api_key(Keyring([NEW]), created.api_key)
    assert caller is not None
    assert caller.org_id == created.org.id


def _cli(url: str, keys: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFSERVE_")} | {
        "SELFSERVE_DATABASE_URL": url,
        "SELFSERVE_SECRET_KEYS": keys,
        "SELFSERVE_DATA_DIR": str(tmp_path),
    }
    selfserve = Path(sys.executable).parent / "selfserve"
    command = [str(selfserve), "rotate-secrets", "--batch-size", "7"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


async def test_the_command_reports_each_column_and_stops_at_a_secret_no_key_opens(own_database, tmp_path):
    await _seed(Keyring([OLD]), 20)
    stranger = Keyring([f"another-key-{uuid.uuid4().hex}"])
    await WebhookEndpoint.update({WebhookEndpoint.secret_encrypted: stranger.box.encrypt("whsec_x")}).where(
        WebhookEndpoint.url == "https://hooks.example.com/3"
    )
    done = _cli(own_database, f"{OLD},{NEW}", tmp_path)
    assert done.returncode == 1, done.stderr
    assert (
        "ss_webhook_endpoint.secret_encrypted: 19 re-encrypted, 0 already under the newest key, 1 UNREADABLE"
        in (done.stdout)
    )
    assert "ss_webhook_endpoint.previous_secret_encrypted: 2 re-encrypted, 0 already" in done.stdout
    assert "ss_organization.embed_secret_encrypted: 1 re-encrypted" in done.stdout
    assert "no longer in SELFSERVE_SECRET_KEYS" in done.stderr
    readable = await _webhook_secrets_except(Keyring([NEW]).box, "https://hooks.example.com/3")
    assert sorted(readable) == sorted(f"whsec_{i}" for i in range(20) if i != 3)
