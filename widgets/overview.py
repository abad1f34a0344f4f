"""Overview: the merchant's welcome, subscriptions at a glance, recent orders, benefits, balance."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import msgspec

from server.auth.sessions import PortalContext
from server.benefits import files, grants
from server.benefits.files import FileInfo
from server.billing import orders
from server.catalog import service as catalog
from server.enums import LIVE, BenefitType
from server.i18n import gettext as _
from server.portal.documents import document_path
from server.schemas.portal_settings import load_portal_settings
from server.subscriptions import service as subscriptions
from server.wallet import service as wallet
from widgets.base import ActionResult, Form, Params, View

RECENT_ORDERS = 3


class SubscriptionSummary(msgspec.Struct, frozen=True, kw_only=True):
    product_name: str
    status: str
    current_period_end: datetime
    cancel_at_period_end: bool


class OrderSummary(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    created_at: datetime
    total: int
    currency: str
    status: str


class Download(msgspec.Struct, frozen=True, kw_only=True):
    file: FileInfo
    url: str


class BenefitCard(msgspec.Struct, frozen=True, kw_only=True):
    grant_id: str
    type: str
    description: str
    license_key: str | None = None
    api_key_hint: str | None = None
    invite_url: str | None = None
    instructions: str | None = None
    url: str | None = None
    url_email: str | None = None
    """The address of a ``mailto:`` link, shown instead of the raw link."""
    url_site: str | None = None
    """The host of a web link, shown instead of the raw link."""
    downloads: list[Download] = msgspec.field(default_factory=list)


class OverviewModel(msgspec.Struct, frozen=True, kw_only=True):
    welcome_message: str
    customer_name: str
    subscriptions: list[SubscriptionSummary]
    orders: list[OrderSummary]
    benefits: list[BenefitCard]
    show_benefits: bool
    balances: dict[str, int]
    read_only: bool


def _safe_link(value: Any) -> str | None:
    """Only http(s) and mailto links reach an href."""
    text = str(value or "")
    return text if text.startswith(("https://", "http://", "mailto:")) else None


def _link_text(url: str | None) -> tuple[str | None, str | None]:
    """(email address, web host) a person reads for a link, one of them set."""
    if url is None:
        return None, None
    parts = urlsplit(url)
    if parts.scheme == "mailto":
        return unquote(parts.path), None
    return None, parts.hostname or url


async def _benefit(ctx: PortalContext, grant: grants.GrantView) -> BenefitCard:
    props = grant.properties
    downloads = []
    if grant.type == BenefitType.DOWNLOADABLE:
        downloads = [
            Download(file=info, url=document_path("file", info.id))
            for info in await files.files_info(ctx.org.id, list(props.get("file_ids") or []))
        ]
    url = _safe_link(props.get("url"))
    url_email, url_site = _link_text(url)
    return BenefitCard(
        grant_id=str(grant.id),
        type=grant.type,
        description=grant.description,
        license_key=grant.license_key,
        api_key_hint=grant.api_key_hint,
        invite_url=_safe_link(props.get("invite_url")),
        instructions=props.get("instructions"),
        url=url,
        url_email=url_email,
        url_site=url_site,
        downloads=downloads,
    )


async def load(ctx: PortalContext, params: Params) -> OverviewModel:
    org_id, customer_id = ctx.org.id, ctx.customer.id
    settings = load_portal_settings(ctx.org)
    summaries = []
    for sub in await subscriptions.list_subscriptions(org_id, customer_id=customer_id):
        if sub.status not in LIVE:
            continue
        product = await catalog.get_product(org_id, UUID(str(sub.product)))
        summaries.append(
            SubscriptionSummary(
                product_name=product.name,
                status=sub.status,
                current_period_end=sub.current_period_end,
                cancel_at_period_end=bool(sub.cancel_at_period_end),
            )
        )
    page = await orders.list_orders(org_id, customer_id=customer_id, limit=RECENT_ORDERS, newest_first=True)
    recent = [
        OrderSummary(
            label=order.invoice_number or _("Order"),
            created_at=order.created_at,
            total=int(order.total),
            currency=order.currency,
            status=order.status,
        )
        for order in page.items
    ]
    benefits = []
    if settings.sections.benefits:
        for grant in await grants.list_grants(org_id, customer_id, keyring=ctx.keyring):
            benefits.append(await _benefit(ctx, grant))
    return OverviewModel(
        welcome_message=settings.welcome_message,
        customer_name=ctx.customer.name,
        subscriptions=summaries,
        orders=recent,
        benefits=benefits,
        show_benefits=settings.sections.benefits,
        balances={w.currency: int(w.balance) for w in await wallet.list_wallets(org_id, customer_id)},
        read_only=ctx.scopes.read_only,
    )


class GrantForm(Form, frozen=True):
    grant_id: UUID
    prompts = {"grant_id": lambda: _("Please choose a key.")}


async def regenerate_api_key(ctx: PortalContext, form: GrantForm) -> ActionResult:
    key = await grants.regenerate_api_key(ctx.org.id, form.grant_id, customer_id=ctx.customer.id)
    return ActionResult(
        message=_("Your new API key is below. Copy it now: it will not be shown again."), reveal=key
    )


VIEW = View(slug="overview", title="Overview", load=load, actions={"regenerate_api_key": regenerate_api_key})
