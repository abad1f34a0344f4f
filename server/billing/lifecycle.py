"""The one way a subscription's row changes, and its end: below ``orders``, which moves a subscription's
status as its payments succeed or dunning gives up, and below ``subscriptions``, which makes every other
transition through ``apply_change``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from server import clock
from server.benefits import grants
from server.billing.schemas import SubscriptionOut
from server.db.engine import write_transaction
from server.db.tables import Subscription
from server.enums import LIVE
from server.enums import SubscriptionStatus as Status
from server.errors import Conflict, Invalid, NotFound
from server.webhooks.outbox import record_event


async def apply_change(subscription: Subscription, changes: dict[Any, Any], **expected: Any) -> Subscription:
    """Write ``changes`` if the row is still at the version read (and matches the ``expected`` columns),
    bumping the version; Conflict otherwise. The one way subscriptions change, so concurrent writers cannot
    both succeed (PostgreSQL re-checks the WHERE after the row lock is free; SQLite serializes writers)."""
    now = clock.now()
    query = Subscription.update(
        {**changes, Subscription.version: subscription.version + 1, Subscription.updated_at: now}
    ).where(Subscription.id == subscription.id, Subscription.version == subscription.version)
    for column, value in expected.items():
        query = query.where(getattr(Subscription, column) == value)
    if not await query.returning(Subscription.id):
        raise Conflict("the subscription changed meanwhile: reload it and try again")
    updated = await Subscription.objects().where(Subscription.id == subscription.id).first()
    assert updated is not None
    return updated


async def end(
    subscription: Subscription, status: Status, changes: dict[Any, Any] | None = None, *, at: datetime
) -> Subscription:
    """Stop a live subscription (inside the caller's transaction) and revoke its benefits. Announces the
    cancellation unless it was announced when it was scheduled, then the end of access."""
    announced = subscription.cancel_at_period_end
    subscription = await apply_change(
        subscription,
        {
            Subscription.status: status,
            Subscription.ended_at: at,
            Subscription.cancel_at_period_end: False,
            Subscription.pending_price: None,
            Subscription.pending_seats: None,
            **(changes or {}),
        },
    )
    if status == Status.CANCELED:
        if not announced:
            await record_event(subscription.org, "subscription.canceled", SubscriptionOut.of(subscription))
        await record_event(subscription.org, "subscription.revoked", SubscriptionOut.of(subscription))
    else:
        await record_event(subscription.org, "subscription.updated", SubscriptionOut.of(subscription))
    await grants.sync_grants(subscription.org, subscription)
    return subscription


async def end_subscription(org_id: UUID, subscription_id: UUID, *, status: str) -> Subscription:
    """End a live subscription now as ``canceled`` or ``unpaid`` (dunning's final action); one that has
    already ended is returned unchanged, so a re-run is harmless."""
    final = Status(status)
    if final not in (Status.CANCELED, Status.UNPAID):
        raise Invalid("a subscription ends as canceled or unpaid")
    async with write_transaction():
        subscription = (
            await Subscription.objects()
            .where(Subscription.org == org_id, Subscription.id == subscription_id)
            .first()
        )
        if subscription is None:
            raise NotFound(f"no subscription {subscription_id}")
        if subscription.status not in LIVE:
            return subscription  # already over (ended by the customer, or by an earlier run)
        now = clock.now()
        changes = {Subscription.canceled_at: now} if final == Status.CANCELED else {}
        return await end(subscription, final, changes, at=now)


async def follow_payment(org_id: UUID, subscription_id: UUID, status: Status, *, only_from: set[str]) -> None:
    """Move the subscription to ``status`` if it is in one of ``only_from`` (inside the caller's transaction),
    announcing it: past due when its payment fails, active again once it is paid."""
    rows = (
        await Subscription.update(
            {
                Subscription.status: status,
                Subscription.version: Subscription.version + 1,
                Subscription.updated_at: clock.now(),
            }
        )
        .where(Subscription.id == subscription_id, Subscription.status.is_in(sorted(only_from)))
        .returning(Subscription.id)
    )
    if rows:
        subscription = await Subscription.objects().where(Subscription.id == subscription_id).first()
        assert subscription is not None
        await record_event(org_id, "subscription.updated", SubscriptionOut.of(subscription))
