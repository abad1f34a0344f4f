"""A customer's own data as a ZIP ("Download my data" in the portal's settings, or the merchant's API).

Asking queues an export row; the worker's ``data_exports.build`` job builds it in the background, moving
``progress`` as each part is done (the settings view shows it), keeps the archive for ``KEPT_FOR`` and, when
the customer asked, emails them that it is ready. The archive holds ``data.json`` (the customer, their
subscriptions with seats, orders with lines and refunds, payment methods without numbers, usage, wallets,
connected sign-in accounts and the activity log) and the stored PDF of every invoice under ``invoices/``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from piccolo.query import Objects

from server import clock, i18n
from server.analytics.portal_analytics import list_activity
from server.billing import orders, payments
from server.billing.schemas import PaymentMethodOut, SubscriptionOut
from server.customers.schemas import CustomerOut
from server.db.constraints import is_unique_violation
from server.db.engine import write_transaction
from server.db.tables import Customer, DataExport, Order, Organization, UsageRollup
from server.enums import Actor, DataExportStatus, OrderStatus
from server.errors import Conflict, NotFound
from server.i18n import gettext as _
from server.mail import queue_email
from server.oauth import connected_accounts
from server.oauth.schemas import ConnectedAccountOut
from server.subscriptions import seats
from server.subscriptions import service as subscriptions
from server.subscriptions.schemas import SeatOut
from server.usage import usage_report
from server.usage.schemas import CustomerUsageOut
from server.usage.usage_alerts import Notifier
from server.wallet import service as wallet
from server.wallet.schemas import BalanceOut, WalletTransactionOut
from server.worker import JobContext

KEPT_FOR = timedelta(days=7)
"""How long a finished archive can be downloaded."""
LEASE = timedelta(minutes=5)
"""A builder that crashed leaves its export to the next run after this."""
ALL = 1_000_000
"""No part of one customer's data is cut short."""


class DataExportOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    customer_id: str
    status: DataExportStatus
    progress: int
    """Percent done."""
    requested_by: str
    """``customer`` (from the portal, who is emailed when it is ready) or ``merchant`` (the API)."""
    size: int
    """Bytes of the ZIP once ready."""
    created_at: datetime
    completed_at: datetime | None
    expires_at: datetime | None
    """The archive is deleted then (status ``expired``)."""

    @classmethod
    def of(cls, row: DataExport) -> DataExportOut:
        return cls(
            id=str(row.id),
            customer_id=str(row.customer),
            status=DataExportStatus(row.status),
            progress=int(row.progress),
            requested_by=row.requested_by,
            size=int(row.size),
            created_at=row.created_at,
            completed_at=row.completed_at,
            expires_at=row.expires_at,
        )


_LIVE = (DataExportStatus.PENDING, DataExportStatus.RUNNING)


async def request_export(org_id: UUID, customer_id: UUID, *, requested_by: Actor) -> DataExport:
    """Queue an export of the customer's data; one already under way is returned instead of a second
    (a unique index keeps it to one when two requests race)."""
    customer = await _live_customer(org_id, customer_id)
    for _attempt in range(2):
        running = await _exports(org_id, customer.id).where(DataExport.status.is_in(list(_LIVE))).first()
        if running is not None:
            return running
        export = DataExport(
            org=org_id,
            customer=customer.id,
            status=DataExportStatus.PENDING,
            requested_by=requested_by,
            created_at=clock.now(),
        )
        try:
            async with write_transaction():
                await export.save()
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            continue  # the other request made it: return that one
        return export
    raise Conflict("a data export is being prepared; try again in a moment")


async def _live_customer(org_id: UUID, customer_id: UUID) -> Customer:
    customer = await Customer.objects().where(Customer.org == org_id, Customer.id == customer_id).first()
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    if customer.erased_at is not None:
        raise Conflict("this customer's data was erased")
    return customer


def _exports(org_id: UUID, customer_id: UUID) -> Objects[DataExport]:
    return DataExport.objects().where(DataExport.org == org_id, DataExport.customer == customer_id)


async def get_export(org_id: UUID, customer_id: UUID, export_id: UUID) -> DataExport:
    export = await _exports(org_id, customer_id).where(DataExport.id == export_id).first()
    if export is None:
        raise NotFound(f"no data export {export_id}")
    return export


async def latest_export(org_id: UUID, customer_id: UUID) -> DataExport | None:
    """The customer's newest export, whatever its state (the settings view shows it)."""
    rows = await _exports(org_id, customer_id).order_by(DataExport.created_at, ascending=False).limit(1)
    return rows[0] if rows else None


async def list_exports(org_id: UUID, customer_id: UUID) -> list[DataExport]:
    """Newest first."""
    await _live_customer(org_id, customer_id)
    return list(await _exports(org_id, customer_id).order_by(DataExport.created_at, ascending=False))


async def export_archive(org_id: UUID, customer_id: UUID, export_id: UUID) -> tuple[bytes, str]:
    """The ZIP of a ready export and a file name for it."""
    export = await get_export(org_id, customer_id, export_id)
    if export.status != DataExportStatus.READY or export.archive is None:
        raise Conflict(
            "this data export is not ready" if export.status in _LIVE else "this data export expired"
        )
    return bytes(export.archive), f"my-data-{export.created_at:%Y-%m-%d}.zip"


# -- building ------------------------------------------------------------------------------------------------


async def build_due_exports(notifier: Notifier, limit: int = 5) -> int:
    """The worker's batch: drop the archives past their time, then build up to ``limit`` waiting exports
    (and any whose builder's lease ran out)."""
    past = (DataExport.status == DataExportStatus.READY) & (DataExport.expires_at <= clock.now())
    done = 0
    if await DataExport.exists().where(past):  # a read first: the job runs every few seconds
        expired = (
            await DataExport.update({DataExport.status: DataExportStatus.EXPIRED, DataExport.archive: None})
            .where(past)
            .returning(DataExport.id)
        )
        done = len(expired)
    for _attempt in range(limit):
        export = await _claim()
        if export is None:
            break
        await _build(notifier, export)
        done += 1
    return done


async def _claim() -> DataExport | None:
    """The oldest waiting export, leased to this builder (a conditional update, so two workers never build
    the same one)."""
    now = clock.now()
    waiting = (
        await DataExport.select(DataExport.id, DataExport.locked_until)
        .where(
            DataExport.status.is_in(list(_LIVE)),
            (DataExport.locked_until.is_null()) | (DataExport.locked_until <= now),
        )
        .order_by(DataExport.created_at)
        .limit(1)
    )
    if not waiting:
        return None
    row = waiting[0]
    lease = (
        DataExport.locked_until.is_null()
        if row["locked_until"] is None
        else (DataExport.locked_until == row["locked_until"])
    )
    claimed = (
        await DataExport.update(
            {
                DataExport.status: DataExportStatus.RUNNING,
                DataExport.progress: 0,
                DataExport.locked_until: now + LEASE,
            }
        )
        .where(DataExport.id == row["id"], lease)
        .returning(DataExport.id)
    )
    if not claimed:
        return None
    return await DataExport.objects().where(DataExport.id == row["id"]).first()


async def _build(notifier: Notifier, export: DataExport) -> None:
    org_id, customer_id = export.org, export.customer
    try:
        archive = await build_archive(org_id, customer_id, progress=lambda p: _progress(export.id, p))
    except Exception:
        await DataExport.update(
            {DataExport.status: DataExportStatus.FAILED, DataExport.locked_until: None}
        ).where(DataExport.id == export.id)
        raise
    now = clock.now()
    async with write_transaction():
        await DataExport.update(
            {
                DataExport.status: DataExportStatus.READY,
                DataExport.progress: 100,
                DataExport.archive: archive,
                DataExport.size: len(archive),
                DataExport.locked_until: None,
                DataExport.completed_at: now,
                DataExport.expires_at: now + KEPT_FOR,
            }
        ).where(DataExport.id == export.id)
        if export.requested_by == Actor.CUSTOMER:
            await _email(notifier, org_id, customer_id, now + KEPT_FOR)


async def _progress(export_id: Any, percent: int) -> None:
    await DataExport.update({DataExport.progress: percent}).where(DataExport.id == export_id)


async def _email(notifier: Notifier, org_id: UUID, customer_id: UUID, expires_at: datetime) -> None:
    customer = await Customer.objects().where(Customer.id == customer_id).first()
    org = await Organization.objects().where(Organization.id == org_id).first()
    if customer is None or org is None or customer.erased_at is not None:
        return
    with i18n.use_locale(i18n.negotiate(customer.locale)):
        await queue_email(
            notifier.keyring,
            org_id,
            to=customer.email,
            subject=_("Your data from %(merchant)s is ready", merchant=org.name),
            template="data_export_ready",
            context={
                "url": f"{notifier.public_url}/portal/{org.slug}?view=settings",
                "expires_at": expires_at,
            },
        )


Part = Callable[[UUID, UUID], Awaitable[Any]]


async def _customer(org_id: UUID, customer_id: UUID) -> CustomerOut:
    return CustomerOut.of(await _live_customer(org_id, customer_id))


async def _subscriptions(org_id: UUID, customer_id: UUID) -> list[dict[str, Any]]:
    rows = await subscriptions.list_subscriptions(org_id, customer_id=customer_id)
    return [
        {
            **msgspec.to_builtins(SubscriptionOut.of(row)),
            "seats": [SeatOut.of(s) for s in await seats.list_seats(org_id, row.id, customer_id=customer_id)],
        }
        for row in rows
    ]


async def _orders(org_id: UUID, customer_id: UUID) -> list[Any]:
    page = await orders.list_orders(org_id, customer_id=customer_id, limit=ALL)
    return list(await orders.order_views(org_id, list(page.items)))


async def _payment_methods(org_id: UUID, customer_id: UUID) -> list[PaymentMethodOut]:
    return [PaymentMethodOut.of(m) for m in await payments.list_payment_methods(org_id, customer_id)]


async def _usage(org_id: UUID, customer_id: UUID) -> dict[str, Any]:
    daily = await (
        UsageRollup.select(UsageRollup.name, UsageRollup.day, UsageRollup.total, UsageRollup.event_count)
        .where(UsageRollup.org == org_id, UsageRollup.customer == customer_id)
        .order_by(UsageRollup.day)
        .order_by(UsageRollup.name)
    )
    return {
        "current_period": CustomerUsageOut.of(await usage_report.customer_usage(org_id, customer_id)),
        "daily": [
            {"event": r["name"], "day": r["day"], "total": int(r["total"]), "events": int(r["event_count"])}
            for r in daily
        ],
    }


async def _wallets(org_id: UUID, customer_id: UUID) -> dict[str, Any]:
    wallets = await wallet.list_wallets(org_id, customer_id)
    currency_of = {str(w.id): w.currency for w in wallets}
    entries = await wallet.list_transactions(org_id, customer_id, limit=ALL)
    return {
        "balances": [BalanceOut.of(w) for w in wallets],
        "transactions": [WalletTransactionOut.of(t, currency_of[str(t.wallet)]) for t in entries],
    }


async def _connected_accounts(org_id: UUID, customer_id: UUID) -> list[ConnectedAccountOut]:
    return [
        ConnectedAccountOut.of(a)
        for a in await connected_accounts.list_connected_accounts(org_id, customer_id)
    ]


async def _activity(org_id: UUID, customer_id: UUID) -> list[Any]:
    return list(await list_activity(org_id, customer_id, limit=ALL))


PARTS: dict[str, Part] = {
    "customer": _customer,
    "subscriptions": _subscriptions,
    "orders": _orders,
    "payment_methods": _payment_methods,
    "usage": _usage,
    "wallet": _wallets,
    "connected_accounts": _connected_accounts,
    "activity": _activity,
}


async def build_archive(
    org_id: UUID, customer_id: UUID, *, progress: Callable[[int], Awaitable[None]] | None = None
) -> bytes:
    """The ZIP: ``data.json`` with every part of ``PARTS``, then each order's invoice as
    ``invoices/<number>.pdf`` (issued now if it never was: the same bytes the customer downloads)."""
    invoiced = await issued_orders(org_id, customer_id)
    steps = len(PARTS) + len(invoiced)
    done = 0

    async def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            await progress(min(99, done * 100 // steps))

    data: dict[str, Any] = {"exported_at": clock.now()}
    for name, part in PARTS.items():
        data[name] = await part(org_id, customer_id)
        await step()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", msgspec.json.format(msgspec.json.encode(data)))
        for order in invoiced:
            pdf = await orders.invoice_pdf(org_id, order.id, customer_id=customer_id)
            archive.writestr(f"invoices/{_file_name(order.invoice_number or str(order.id))}.pdf", pdf)
            await step()
    return buffer.getvalue()


async def issued_orders(org_id: UUID, customer_id: UUID) -> list[Order]:
    """The customer's orders that have (or will have, on first download) an invoice, oldest first."""
    return list(
        await Order.objects()
        .where(Order.org == org_id, Order.customer == customer_id, Order.status != OrderStatus.DRAFT)
        .order_by(Order.created_at)
    )


def _file_name(number: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in number) or "invoice"


async def build_exports_job(context: JobContext) -> int:
    return await build_due_exports(Notifier(keyring=context.keyring, public_url=context.settings.public_url))
