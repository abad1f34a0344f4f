"""How customers use the portal, for the merchant: sessions, sections viewed, self-service actions and their
outcome, cancellation reasons and the cancel-flow funnel, time to resolution; each customer's activity log.

Events hold ids, names and outcomes only. Cancellation comments come from the subscriptions themselves."""

from __future__ import annotations

import logging
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
from piccolo.engine.postgres import PostgresEngine

from server import clock
from server.activity import CONSOLE_EVENTS, MERCHANT_EVENTS
from server.db.json_rows import insert_from_json, json_param, utc_stamp
from server.db.tables import PortalEvent, Subscription
from server.enums import Actor
from server.errors import Invalid
from server.webhooks.outbox import EVENT_TYPES

SESSION_OPENED = "session.opened"
VIEW_OPENED = "view.opened"
ACTION = "action"
CANCEL_STARTED = "cancel.started"
CANCEL_REASON = "cancel.reason_chosen"
CANCEL_COMPLETED = "cancel.completed"
OFFER_SHOWN = "retention.offer_shown"
OFFER_ACCEPTED = "retention.offer_accepted"
OFFER_DECLINED = "retention.offer_declined"
ANALYTICS_EVENTS = (
    SESSION_OPENED,
    VIEW_OPENED,
    ACTION,
    CANCEL_STARTED,
    CANCEL_REASON,
    CANCEL_COMPLETED,
    OFFER_SHOWN,
    OFFER_ACCEPTED,
    OFFER_DECLINED,
)
CANCEL_FLOW = (CANCEL_STARTED, CANCEL_REASON, OFFER_SHOWN, OFFER_ACCEPTED, OFFER_DECLINED, CANCEL_COMPLETED)
MAX_WINDOW_DAYS = 366

log = logging.getLogger(__name__)


class DayCount(msgspec.Struct, frozen=True, kw_only=True):
    day: str
    count: int
    by_method: dict[str, int]


class ActionCount(msgspec.Struct, frozen=True, kw_only=True):
    action: str
    outcome: str
    count: int


class ReasonCount(msgspec.Struct, frozen=True, kw_only=True):
    reason: str
    count: int
    comments: list[str]


class Funnel(msgspec.Struct, frozen=True, kw_only=True):
    started: int
    completed: int
    abandoned: int


class RetentionStep(msgspec.Struct, frozen=True, kw_only=True):
    """Cancel flows of one reason and the offer shown for it (``offer`` empty: none was shown)."""

    reason: str
    """The reason chosen; ``unspecified`` when none was."""
    offer: str
    started: int
    offers_shown: int
    accepted: int
    declined: int
    canceled: int
    abandoned: int
    """Left without cancelling or accepting an offer."""
    revenue_kept: dict[str, int]
    """Currency → the monthly revenue the accepted offers keep (minor units, before tax)."""


class RetentionFunnel(msgspec.Struct, frozen=True, kw_only=True):
    """Cancel started → reason → offer shown → accepted / declined → canceled / abandoned, each cancel flow
    (a session's flow for one subscription) counted once, by its last reason and offer."""

    started: int
    reason_given: int
    offers_shown: int
    accepted: int
    declined: int
    canceled: int
    abandoned: int
    revenue_kept: dict[str, int]
    by_reason: list[RetentionStep]


class _Attempt:
    """What one cancel flow went through."""

    def __init__(self) -> None:
        self.started = self.shown = self.accepted = self.declined = self.canceled = False
        self.reason, self.offer, self.currency, self.kept = "", "", "", 0

    def note(self, name: str, props: dict[str, Any]) -> None:
        self.reason = str(props.get("reason") or self.reason)
        if name == CANCEL_STARTED:
            self.started = True
        elif name == OFFER_SHOWN:
            self.shown, self.offer = True, str(props.get("offer", ""))
        elif name in (OFFER_ACCEPTED, OFFER_DECLINED):
            self.offer = str(props.get("offer", self.offer))
            self.accepted = self.accepted or name == OFFER_ACCEPTED
            self.declined = self.declined or name == OFFER_DECLINED
            if name == OFFER_ACCEPTED:
                self.currency, self.kept = (
                    str(props.get("currency", "")),
                    int(props.get("monthly_revenue_kept", 0)),
                )
        elif name == CANCEL_COMPLETED:
            self.canceled = True


def _revenue(attempts: list[_Attempt]) -> dict[str, int]:
    kept: Counter[str] = Counter()
    for attempt in attempts:
        if attempt.accepted and attempt.currency:
            kept[attempt.currency] += attempt.kept
    return dict(sorted(kept.items()))


def _retention_funnel(attempts: list[_Attempt]) -> RetentionFunnel:
    groups: dict[tuple[str, str], list[_Attempt]] = defaultdict(list)
    for attempt in attempts:
        groups[(attempt.reason or "unspecified", attempt.offer)].append(attempt)

    def counts(group: list[_Attempt]) -> dict[str, Any]:
        return {
            "started": len(group),
            "offers_shown": sum(a.shown for a in group),
            "accepted": sum(a.accepted for a in group),
            "declined": sum(a.declined for a in group),
            "canceled": sum(a.canceled for a in group),
            "abandoned": sum(not a.canceled and not a.accepted for a in group),
            "revenue_kept": _revenue(group),
        }

    return RetentionFunnel(
        reason_given=sum(bool(a.reason) for a in attempts),
        by_reason=[
            RetentionStep(reason=reason, offer=offer, **counts(group))
            for (reason, offer), group in sorted(groups.items())
        ],
        **counts(attempts),
    )


class PortalReport(msgspec.Struct, frozen=True, kw_only=True):
    start: datetime
    end: datetime
    logins_per_day: list[DayCount]
    views_per_section: dict[str, int]
    actions: list[ActionCount]
    cancellation_reasons: list[ReasonCount]
    cancel_funnel: Funnel
    retention: RetentionFunnel
    median_seconds_to_action: int | None
    """From opening the portal to the first successful action of that session; None without any."""


class ActivityEntry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    actor: str
    at: datetime
    details: dict[str, Any]
    staff: str | None = None
    """The email of the staff member who acted in the console, when one did."""


async def record(
    org_id: UUID,
    customer_id: UUID,
    name: str,
    *,
    session_id: UUID | None = None,
    outcome: str = "",
    properties: dict[str, str] | None = None,
) -> None:
    """Note one portal usage event (one of ``ANALYTICS_EVENTS``) now."""
    _check_name(name)
    await PortalEvent(
        org=org_id,
        customer=customer_id,
        session=session_id,
        actor=Actor.CUSTOMER,
        name=name,
        outcome=outcome,
        properties=properties or {},
        created_at=clock.now(),
    ).save()


class PendingEvents:
    """Portal events written in batches. A customer opens a view on every page they look at, and a write per
    view would cost more than serving the view; these wait in memory and go in one INSERT once ``FLUSH_EVERY``
    has passed or ``MAX_PENDING`` are waiting (the app also flushes every second, at shutdown, and before a
    report reads them). A crash loses at most the last second of views."""

    FLUSH_EVERY = timedelta(seconds=1)
    MAX_PENDING = 500

    def __init__(self) -> None:
        self._rows: list[list[str | None]] = []
        self._oldest: datetime | None = None

    async def add(
        self,
        org_id: UUID,
        customer_id: UUID,
        name: str,
        *,
        session_id: UUID | None,
        properties: dict[str, str],
    ) -> None:
        _check_name(name)
        now = clock.now()
        session = None if session_id is None else str(session_id)
        props = json_param(properties)
        self._rows.append([str(uuid4()), str(org_id), str(customer_id), session, name, props, utc_stamp(now)])
        self._oldest = self._oldest or now
        if len(self._rows) >= self.MAX_PENDING or now - self._oldest >= self.FLUSH_EVERY:
            await self.flush()

    async def flush(self) -> None:
        """Write what waits. A row the database refuses (its customer was just deleted) is dropped alone."""
        rows, self._rows, self._oldest = self._rows, [], None
        if not rows:
            return
        insert = _INSERT_PENDING[isinstance(PortalEvent._meta.db, PostgresEngine)]
        try:
            await PortalEvent.raw(insert, Actor.CUSTOMER.value, "", json_param(rows))
        except Exception:  # analytics must never fail a page: keep every row the database takes
            for row in rows:
                try:
                    await PortalEvent.raw(insert, Actor.CUSTOMER.value, "", json_param([row]))
                except Exception:
                    log.warning("dropped a portal event %s the database refused", row[4])

    def __len__(self) -> int:
        return len(self._rows)


_PENDING_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("id", "uuid"),
    ("org", "uuid"),
    ("customer", "uuid"),
    ("session", "uuid"),
    ("actor", None),
    ("outcome", None),
    ("name", "text"),
    ("properties", "json"),
    ("created_at", "timestamptz"),
)
_INSERT_PENDING = {
    postgres: insert_from_json("ss_portal_event", _PENDING_COLUMNS, postgres=postgres)
    for postgres in (False, True)
}
"""Parameters: the actor (a customer), the outcome (none), the rows."""


def _check_name(name: str) -> None:
    if name not in ANALYTICS_EVENTS:
        raise ValueError(f"unknown portal event {name!r}")


def _props(value: Any) -> dict[str, Any]:
    decoded = msgspec.json.decode(value) if isinstance(value, str | bytes) else value
    return dict(decoded or {})


def _check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise Invalid("end must be after start")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise Invalid(f"a report covers at most {MAX_WINDOW_DAYS} days")


async def report(org_id: UUID, start: datetime, end: datetime) -> PortalReport:
    _check_window(start, end)
    rows = (
        await PortalEvent.select(
            PortalEvent.session,
            PortalEvent.name,
            PortalEvent.outcome,
            PortalEvent.properties,
            PortalEvent.created_at,
        )
        .where(
            PortalEvent.org == org_id,
            PortalEvent.name.is_in(list(ANALYTICS_EVENTS)),
            PortalEvent.created_at >= start,
            PortalEvent.created_at < end,
        )
        .order_by(PortalEvent.created_at)
    )
    logins: dict[str, Counter[str]] = defaultdict(Counter)
    views: Counter[str] = Counter()
    actions: Counter[tuple[str, str]] = Counter()
    attempts: dict[tuple[str, str], _Attempt] = defaultdict(_Attempt)
    opened_at: dict[str, datetime] = {}
    first_success: dict[str, datetime] = {}
    for row in rows:
        props, session, at = _props(row["properties"]), str(row["session"]), row["created_at"]
        name = row["name"]
        if name == SESSION_OPENED:
            logins[at.date().isoformat()][str(props.get("via", "unknown"))] += 1
            opened_at[session] = min(at, opened_at.get(session, at))
        elif name == VIEW_OPENED:
            views[str(props.get("view", ""))] += 1
        elif name == ACTION:
            actions[(f"{props.get('view')}.{props.get('action')}", row["outcome"])] += 1
            if row["outcome"] == "succeeded":
                first_success[session] = min(at, first_success.get(session, at))
        elif name in CANCEL_FLOW:
            attempts[(session, str(props.get("subscription_id")))].note(name, props)
    durations = [
        int((first_success[s] - opened_at[s]).total_seconds()) for s in first_success if s in opened_at
    ]
    started = [attempt for attempt in attempts.values() if attempt.started]
    finished = sum(attempt.canceled for attempt in started)
    return PortalReport(
        start=start,
        end=end,
        logins_per_day=[
            DayCount(day=day, count=sum(methods.values()), by_method=dict(methods))
            for day, methods in sorted(logins.items())
        ],
        views_per_section=dict(views.most_common()),
        actions=[
            ActionCount(action=action, outcome=outcome, count=count)
            for (action, outcome), count in sorted(actions.items())
        ],
        cancellation_reasons=await _reasons(org_id, start, end),
        cancel_funnel=Funnel(started=len(started), completed=finished, abandoned=len(started) - finished),
        retention=_retention_funnel(started),
        median_seconds_to_action=int(statistics.median(durations)) if durations else None,
    )


async def sessions_opened(org_id: UUID, start: datetime, end: datetime) -> int:
    """How many portal sessions were opened in the window, however they were opened."""
    return int(
        await PortalEvent.count().where(
            PortalEvent.org == org_id,
            PortalEvent.name == SESSION_OPENED,
            PortalEvent.created_at >= start,
            PortalEvent.created_at < end,
        )
    )


async def _reasons(org_id: UUID, start: datetime, end: datetime) -> list[ReasonCount]:
    """Reasons and comments of every cancellation in the window, from the portal or the API."""
    rows = await Subscription.select(
        Subscription.cancellation_reason, Subscription.cancellation_comment
    ).where(Subscription.org == org_id, Subscription.canceled_at >= start, Subscription.canceled_at < end)
    counts: Counter[str] = Counter()
    comments: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        reason = row["cancellation_reason"] or "unspecified"
        counts[reason] += 1
        if row["cancellation_comment"]:
            comments[reason].append(row["cancellation_comment"])
    return [ReasonCount(reason=r, count=n, comments=comments[r]) for r, n in counts.most_common()]


async def list_activity(
    org_id: UUID, customer_id: UUID, *, limit: int = 50, console: bool = False
) -> list[ActivityEntry]:
    """What happened to the customer's account, newest first, and who did it; ``console`` adds what staff
    did for the customer without changing it (the console shows those, the customer's portal does not)."""
    names = [*EVENT_TYPES, *(CONSOLE_EVENTS if console else ())]
    return await _activity(PortalEvent.customer == customer_id, org_id=org_id, names=names, limit=limit)


async def list_merchant_activity(org_id: UUID, *, limit: int = 50) -> list[ActivityEntry]:
    """Who changed the merchant's own settings (keys, webhooks, portal, sign-in, team), newest first."""
    customerless = PortalEvent.customer.is_null()
    return await _activity(customerless, org_id=org_id, names=list(MERCHANT_EVENTS), limit=limit)


async def _activity(whose: Any, *, org_id: UUID, names: list[str], limit: int) -> list[ActivityEntry]:
    rows = (
        await PortalEvent.select(
            PortalEvent.name,
            PortalEvent.actor,
            PortalEvent.properties,
            PortalEvent.created_at,
            PortalEvent.staff.email,
        )
        .where(PortalEvent.org == org_id, whose, PortalEvent.name.is_in(names))
        .order_by(PortalEvent.created_at, ascending=False)
        .limit(limit)
    )
    return [
        ActivityEntry(
            name=r["name"],
            actor=r["actor"],
            at=r["created_at"],
            details=_props(r["properties"]),
            staff=r["staff.email"],
        )
        for r in rows
    ]
