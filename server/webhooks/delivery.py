"""The delivery worker: sends the outbox's pending deliveries as signed Standard Webhooks requests.

- Leasing: a delivery is taken with a conditional UPDATE of ``locked_until``, so two workers never send it at
  the same time; a worker killed mid-send leaves a lease that expires, and the delivery is sent again with the
  same ``webhook-id`` (at-least-once; receivers deduplicate on it).
- Sends run concurrently, at most ``PER_ENDPOINT_CONCURRENCY`` in flight per endpoint, each bounded by
  ``REQUEST_TIMEOUT_S``. ``deliver_due`` waits at most ``BATCH_PATIENCE_S`` for its batch and leaves slower
  sends running, so a hanging receiver never holds up other endpoints' deliveries (only its own).
- Redirects are not followed (a 3xx is a failure). The connection goes to the address the SSRF guard checked.
- Failures are retried ``MAX_ATTEMPTS`` times in all over about three days (``RETRY_DELAYS`` with jitter, or a
  longer ``Retry-After``). A 410 disables the endpoint at once; so do ``FAILED_DELIVERIES_BEFORE_DISABLE``
  deliveries in a row that failed for good. A disabled endpoint emits ``webhook_endpoint.disabled``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import UUID

import httpcore
import msgspec
from cryptography.fernet import InvalidToken

import server
from server import clock
from server.db.engine import write_transaction
from server.db.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.enums import DeliveryStatus
from server.security.ssrf import PinnedNetworkBackend
from server.webhooks.endpoints import signing_secrets
from server.webhooks.outbox import record_event
from server.webhooks.schemas import WebhookEndpointOut
from server.webhooks.signing import message_body, webhook_headers
from server.worker import JobContext

log = logging.getLogger("selfserve.webhooks")

REQUEST_TIMEOUT_S = 15.0
LEASE = timedelta(seconds=60)
"""Longer than any send can take, so a live worker never loses its lease."""
BATCH_SIZE = 100
PER_ENDPOINT_CONCURRENCY = 10
BATCH_PATIENCE_S = 1.0
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 3 * 60, 6 * 60, 12 * 60, 24 * 60, 24 * 60))
"""Waits after the 1st…9th failed attempt: about 70 hours from the first attempt to the 10th."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
MAX_RETRY_AFTER = timedelta(hours=24)
FAILED_DELIVERIES_BEFORE_DISABLE = 10
USER_AGENT = f"selfserve-webhooks/{server.__version__}"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    retry_after: timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(failed_attempts: int, retry_after: timedelta | None = None) -> timedelta:
    """The wait after ``failed_attempts`` failures: the schedule with ±10 % jitter, or longer if the receiver
    asked for it with ``Retry-After`` (capped at a day)."""
    base = RETRY_DELAYS[min(failed_attempts, len(RETRY_DELAYS)) - 1]
    delay = base * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        return max(parsedate_to_datetime(value) - now, timedelta(0))
    except (TypeError, ValueError):
        return None


async def lease_due(
    limit: int = BATCH_SIZE, *, org_id: UUID | None = None, busy: Mapping[Any, int] | None = None
) -> list[dict[str, Any]]:
    """Take up to ``limit`` due deliveries, keeping each endpoint's in-flight sends (``busy`` counts those
    already running) within ``PER_ENDPOINT_CONCURRENCY``. The UPDATE re-checks that each is still free: of
    two workers racing for one delivery exactly one gets it. ``org_id`` narrows it to one merchant."""
    now = clock.now()
    free: list[Any] = [
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= now,
        WebhookDelivery.locked_until.is_null() | (WebhookDelivery.locked_until <= now),
    ]
    if org_id is not None:
        free.append(WebhookDelivery.org == org_id)
    due = (
        await WebhookDelivery.select(WebhookDelivery.id, WebhookDelivery.endpoint)
        .where(*free)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit * PER_ENDPOINT_CONCURRENCY)
    )
    per_endpoint: Counter[Any] = Counter(busy or {})
    chosen: list[Any] = []
    for row in due:
        if per_endpoint[row["endpoint"]] < PER_ENDPOINT_CONCURRENCY and len(chosen) < limit:
            per_endpoint[row["endpoint"]] += 1
            chosen.append(row["id"])
    if not chosen:
        return []
    async with write_transaction():
        leased: list[dict[str, Any]] = (
            await WebhookDelivery.update({WebhookDelivery.locked_until: now + LEASE})
            .where(WebhookDelivery.id.is_in(chosen), *free)
            .returning(*WebhookDelivery.all_columns())
        )
    return leased


async def send(pool: httpcore.AsyncConnectionPool, url: str, headers: dict[str, str], body: bytes) -> Outcome:
    """One POST; never raises for the receiver's sake (its failures become an ``Outcome``)."""
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    retry_after: timedelta | None = None
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            request_headers = [*headers.items(), ("user-agent", USER_AGENT)]
            async with pool.stream("POST", url, headers=request_headers, content=body) as r:
                status_code = r.status
                response_headers = {k.decode().lower(): v.decode("latin-1") for k, v in r.headers}
                retry_after = parse_retry_after(response_headers.get("retry-after"), clock.now())
                if 300 <= r.status < 400:
                    error = "redirects are not followed"
    except TimeoutError:
        error = f"no answer within {REQUEST_TIMEOUT_S:g} s"
    except Exception as exc:  # connection refused, TLS, SSRF refusal, protocol errors…
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    if status_code is not None and not error and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    return Outcome(status_code, error, duration_ms, retry_after)


async def _disable_endpoint(org_id: UUID, endpoint_id: UUID, reason: str) -> None:
    """Disable (once, even under races) and tell the merchant; inside the caller's transaction."""
    changed = (
        await WebhookEndpoint.update(
            {WebhookEndpoint.enabled: False, WebhookEndpoint.disabled_reason: reason}
        )
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.eq(True))
        .returning(WebhookEndpoint.id)
    )
    if changed:
        log.warning("webhook endpoint %s of org %s disabled: %s", endpoint_id, org_id, reason)
        endpoint = await WebhookEndpoint.objects().where(WebhookEndpoint.id == endpoint_id).first()
        assert endpoint is not None
        await record_event(org_id, "webhook_endpoint.disabled", WebhookEndpointOut.of(endpoint))


async def record_outcome(delivery: dict[str, Any], endpoint: dict[str, Any], outcome: Outcome) -> None:
    """Log the attempt and move the delivery (and the endpoint's health) on; inside the caller's
    transaction."""
    now = clock.now()
    attempts = delivery["attempts"] + 1
    changes: dict[Any, Any] = {
        WebhookDelivery.attempts: attempts,
        WebhookDelivery.last_status_code: outcome.status_code,
        WebhookDelivery.last_error: outcome.error,
        WebhookDelivery.last_duration_ms: outcome.duration_ms,
        WebhookDelivery.locked_until: None,
    }
    gone = outcome.status_code == 410
    if outcome.ok:
        changes |= {WebhookDelivery.status: DeliveryStatus.SUCCEEDED, WebhookDelivery.delivered_at: now}
    elif gone or attempts >= MAX_ATTEMPTS:
        changes[WebhookDelivery.status] = DeliveryStatus.FAILED
    else:
        changes[WebhookDelivery.next_attempt_at] = now + retry_delay(attempts, outcome.retry_after)
    await WebhookAttempt.insert(
        WebhookAttempt(
            org=delivery["org"],
            delivery=delivery["id"],
            attempted_at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
    )
    await WebhookDelivery.update(changes).where(WebhookDelivery.id == delivery["id"])
    if outcome.ok:
        await WebhookEndpoint.update({WebhookEndpoint.consecutive_failures: 0}).where(
            WebhookEndpoint.id == endpoint["id"], WebhookEndpoint.consecutive_failures > 0
        )
    elif gone:
        await _disable_endpoint(delivery["org"], endpoint["id"], "the receiver answered 410 Gone")
    elif attempts >= MAX_ATTEMPTS:
        failures = (
            await WebhookEndpoint.update(
                {WebhookEndpoint.consecutive_failures: WebhookEndpoint.consecutive_failures + 1}
            )
            .where(WebhookEndpoint.id == endpoint["id"])
            .returning(WebhookEndpoint.consecutive_failures)
        )
        if failures and failures[0]["consecutive_failures"] >= FAILED_DELIVERIES_BEFORE_DISABLE:
            reason = f"{FAILED_DELIVERIES_BEFORE_DISABLE} deliveries in a row failed"
            await _disable_endpoint(delivery["org"], endpoint["id"], reason)


class OutcomeWriter:
    """Group commit: outcomes that arrive while a transaction is being written go together into the next
    one, so a batch costs a few commits rather than one per delivery, and none waits for a slow sibling."""

    def __init__(self) -> None:
        self._queue: list[tuple[dict[str, Any], dict[str, Any], Outcome]] = []
        self._lock = asyncio.Lock()

    async def write(self, delivery: dict[str, Any], endpoint: dict[str, Any], outcome: Outcome) -> None:
        """Return once this outcome is committed (by this call or by a concurrent one)."""
        self._queue.append((delivery, endpoint, outcome))
        async with self._lock:
            group, self._queue = self._queue, []
            if group:
                async with write_transaction():
                    for item in group:
                        await record_outcome(*item)


async def _skip_disabled(delivery: dict[str, Any]) -> None:
    """A delivery whose endpoint was disabled after it was queued: failed, redeliverable once re-enabled."""
    async with write_transaction():
        await WebhookDelivery.update(
            {
                WebhookDelivery.status: DeliveryStatus.FAILED,
                WebhookDelivery.last_error: "endpoint disabled",
                WebhookDelivery.locked_until: None,
            }
        ).where(WebhookDelivery.id == delivery["id"])


_in_flight: Counter[Any] = Counter()
"""Sends running in this process, per endpoint."""
_batches: set[asyncio.Task[None]] = set()


async def _send_batch(context: JobContext, leased: list[dict[str, Any]]) -> None:
    """Send every leased delivery concurrently and record each outcome as soon as it is known."""
    try:
        event_ids, endpoint_ids = [d["event"] for d in leased], list({d["endpoint"] for d in leased})
        events = {e["id"]: e for e in await WebhookEvent.select().where(WebhookEvent.id.is_in(event_ids))}
        endpoints = {
            e["id"]: e for e in await WebhookEndpoint.select().where(WebhookEndpoint.id.is_in(endpoint_ids))
        }
    except Exception:
        log.exception("could not load %d leased webhook deliveries (their leases will expire)", len(leased))
        for delivery in leased:
            _in_flight[delivery["endpoint"]] -= 1
        return
    backend = PinnedNetworkBackend(allow_local=context.settings.allow_local_webhooks)
    writer = OutcomeWriter()

    async def deliver(delivery: dict[str, Any], pool: httpcore.AsyncConnectionPool) -> None:
        endpoint, event = endpoints.get(delivery["endpoint"]), events.get(delivery["event"])
        if endpoint is None or event is None:
            return  # deleted since the lease, and the delivery with it
        if not endpoint["enabled"]:
            await _skip_disabled(delivery)
            return
        body = message_body(event["type"], event["created_at"], msgspec.json.decode(event["payload"]))
        try:
            secrets = signing_secrets(context.keyring, endpoint)
        except InvalidToken:
            error = "the signing secret cannot be decrypted with SELFSERVE_SECRET_KEYS (was a key removed?)"
            await writer.write(delivery, endpoint, Outcome(None, error, 0))
            return
        headers = webhook_headers(secrets, str(event["id"]), int(clock.now().timestamp()), body)
        await writer.write(delivery, endpoint, await send(pool, endpoint["url"], headers, body))

    async def deliver_and_release(delivery: dict[str, Any], pool: httpcore.AsyncConnectionPool) -> None:
        try:
            await deliver(delivery, pool)
        except Exception:
            log.exception("webhook delivery %s could not be recorded (its lease will expire)", delivery["id"])
        finally:
            _in_flight[delivery["endpoint"]] -= 1

    async with httpcore.AsyncConnectionPool(network_backend=backend, max_connections=None) as pool:
        await asyncio.gather(*(deliver_and_release(d, pool) for d in leased))


async def deliver_due(context: JobContext, *, org_id: UUID | None = None) -> int:
    """Lease due deliveries (of every merchant, or of ``org_id``) and send them. Waits for the batch at most
    ``BATCH_PATIENCE_S``; slower sends finish in the background. Returns how many were leased."""
    leased = await lease_due(org_id=org_id, busy=+_in_flight)
    if not leased:
        return 0
    for delivery in leased:
        _in_flight[delivery["endpoint"]] += 1
    batch = asyncio.create_task(_send_batch(context, leased))
    _batches.add(batch)
    batch.add_done_callback(_batches.discard)
    await asyncio.wait({batch}, timeout=BATCH_PATIENCE_S)
    return len(leased)


async def drain() -> None:
    """Wait for every send still in flight in this process (tests, and a graceful stop)."""
    while _batches:
        await asyncio.gather(*_batches)
