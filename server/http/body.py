"""Reading a request body inside ASGI middleware (with the size cap) and handing it on unchanged."""

from __future__ import annotations

from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import Receive, ReceiveMessage


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body; 413 as soon as it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(detail=f"request bodies are limited to {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields ``body`` once, then defers to the real one (for disconnects)."""
    sent = False

    async def replay() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
