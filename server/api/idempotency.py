"""``Idempotency-Key`` on every merchant POST (CONTRACT §5).

The first request with a key claims it (an atomic insert on the unique (org, key) index), runs, and stores
its response for 24 h. A later request with the same key and the same method, path and body gets that
response again (``Idempotent-Replayed: true``); with a different body it gets 422. A duplicate that arrives
while the first is still running waits for it briefly, then replays its answer, or gets 409 if it is still
running. A 5xx (or a crash) releases the key so the client can retry. Stored bodies are encrypted: some
hold a secret shown once (a new API key, a portal token).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server import clock
from server.db.tables import IdempotencyRecord
from server.errors import Conflict, Invalid
from server.http.body import read_body, replaying
from server.organizations.deps import authenticate_request
from server.security.keyring import Keyring

HEADER = "idempotency-key"
RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 255
IN_FLIGHT_WAIT_SECONDS = 10.0
"""How long a duplicate waits for the original to finish before answering 409."""
POLL_SECONDS = 0.05
_REPLAYED_HEADERS = ("content-type", "location")


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def _claim(org_id: Any, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """None when this request now owns ``key``; otherwise the live record that already does."""
    while True:
        now = clock.now()
        inserted = await IdempotencyRecord.raw(
            "INSERT INTO ss_idempotency_record (id, org, key, request_hash, completed, response_headers, "
            "created_at, expires_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}) "
            "ON CONFLICT (org, key) DO NOTHING RETURNING id",
            uuid.uuid4(),
            org_id,
            key,
            fingerprint,
            False,
            "{}",
            now,
            now + RETENTION,
        )
        if inserted:
            return None
        existing = await _find(org_id, key)
        if existing is None:
            continue
        if existing.expires_at <= now:
            await IdempotencyRecord.delete().where(
                IdempotencyRecord.id == existing.id, IdempotencyRecord.expires_at <= now
            )
            continue
        return existing


async def _find(org_id: Any, key: str) -> IdempotencyRecord | None:
    return (
        await IdempotencyRecord.objects()
        .where(IdempotencyRecord.org == org_id, IdempotencyRecord.key == key)
        .first()
    )


async def _wait_for_completion(record: IdempotencyRecord) -> IdempotencyRecord | None:
    """The record once its request has finished; None if it was released (the original failed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IN_FLIGHT_WAIT_SECONDS
    while not record.completed:
        if loop.time() >= deadline:
            raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly")
        await asyncio.sleep(POLL_SECONDS)
        found = await IdempotencyRecord.objects().where(IdempotencyRecord.id == record.id).first()
        if found is None:
            return None
        record = found
    return record


def _seal(keyring: Keyring, body: bytes) -> bytes:
    return keyring.box.encrypt(base64.b64encode(body).decode()).encode()


def _unseal(keyring: Keyring, sealed: bytes) -> bytes:
    return base64.b64decode(keyring.box.decrypt(bytes(sealed).decode()))


async def _replay(record: IdempotencyRecord, keyring: Keyring, send: Send) -> None:
    stored = record.response_headers
    headers: dict[str, str] = msgspec.json.decode(stored) if isinstance(stored, str) else dict(stored or {})
    raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw_headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": record.response_status, "headers": raw_headers})
    await send(
        {"type": "http.response.body", "body": _unseal(keyring, record.response_body), "more_body": False}
    )


class IdempotencyMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") != "POST" or not scope["path"].startswith("/v1/"):
            await next_app(scope, receive, send)
            return
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        key = connection.headers.get(HEADER)
        if key is None:
            await next_app(scope, receive, send)
            return
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise Invalid(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
        body = await read_body(receive, self.max_body_bytes)
        caller = await authenticate_request(connection)
        fingerprint = request_fingerprint("POST", scope["path"], scope["query_string"], body)
        while True:
            existing = await _claim(caller.org_id, key, fingerprint)
            if existing is None:
                await self._run_and_remember(
                    caller.org_id, key, scope, replaying(body, receive), send, next_app
                )
                return
            if existing.request_hash != fingerprint:
                raise Invalid("this Idempotency-Key was already used with a different request")
            finished = await _wait_for_completion(existing)
            if finished is not None:
                await _replay(finished, scope["app"].state.keyring, send)
                return

    async def _run_and_remember(
        self, org_id: Any, key: str, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp
    ) -> None:
        status = 500
        headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.decode().lower() in _REPLAYED_HEADERS:
                        headers[name.decode().lower()] = value.decode()
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        where = (IdempotencyRecord.org == org_id, IdempotencyRecord.key == key)
        try:
            await next_app(scope, receive, capture)
        except BaseException:
            await IdempotencyRecord.delete().where(*where)
            raise
        if status >= 500:
            await IdempotencyRecord.delete().where(*where)
            return
        await IdempotencyRecord.update(
            {
                IdempotencyRecord.completed: True,
                IdempotencyRecord.response_status: status,
                IdempotencyRecord.response_body: _seal(scope["app"].state.keyring, b"".join(chunks)),
                IdempotencyRecord.response_headers: msgspec.json.encode(headers).decode(),
            }
        ).where(*where)
