"""Settings: payment methods, billing information, account details, connected sign-in accounts, and the
customer's own data: a download of it, and a request to delete the account."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from server import i18n
from server.analytics.portal_analytics import ActivityEntry, list_activity
from server.auth.magic_links import normalize_email, request_email_change
from server.auth.sessions import PortalContext
from server.billing import payment_providers
from server.billing.orders import unpaid_orders
from server.billing.payments import (
    add_payment_method,
    add_stripe_card,
    card_expired,
    list_payment_methods,
    remove_payment_method,
    set_default_payment_method,
)
from server.billing.providers import decline_reason
from server.countries import country_choices
from server.customers.schemas import CustomerUpdate
from server.customers.service import update_customer
from server.enums import Actor, DataExportStatus, OAuthProviderKind
from server.errors import Forbidden, Invalid, RateLimited
from server.i18n import format_amount, ngettext
from server.i18n import gettext as _
from server.oauth.connected_accounts import disconnect_account, list_connected_accounts
from server.oauth.providers import provider_names, sign_in_options
from server.portal.documents import document_path
from server.privacy import data_exports, erasure
from server.schemas.portal_settings import load_portal_settings
from server.tax.tax_ids import ViesVerdict, online_verdict, validate_tax_id
from widgets.base import ActionResult, Form, NoFields, Params, View, refusal

ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "state", "country")
ACTIVITY_SHOWN = 20


class Card(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    expired: bool


class DataExportState(msgspec.Struct, frozen=True, kw_only=True):
    """The customer's latest data export: its progress while the worker builds it, then its download."""

    status: str
    progress: int
    status_path: str
    """What the portal script polls for the progress (``/embed/data-exports/{id}``)."""
    download_url: str | None
    size: int
    expires_at: datetime | None


class AccountModel(msgspec.Struct, frozen=True, kw_only=True):
    cards: list[Card]
    add_card_open: bool
    """Deep link ``action=update_payment_method`` (or no card yet) opens the add-card form."""
    stripe_key: str
    """The merchant's Stripe publishable key: the card form is Stripe.js's (empty: the sandbox's form)."""
    stripe_js: str
    activity: list[ActivityEntry]
    customer_id: str
    external_id: str | None
    name: str
    email: str
    billing_name: str
    billing_email: str
    company_name: str
    tax_id: str
    tax_id_type: str
    address: dict[str, str]
    countries: tuple[tuple[str, str], ...]
    """(ISO code, name in the customer's language) for the country select."""
    read_only: bool
    email_change: bool
    """The merchant lets customers change their email here (features.email_change)."""
    sign_in: SignInAccounts
    data_export: DataExportState | None
    deletion_requested_at: datetime | None


class SignInAccount(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    name: str
    email: str


class SignInAccounts(msgspec.Struct, frozen=True, kw_only=True):
    """Connected accounts: managed on the hosted portal only (the provider's pages cannot open in a frame),
    so an embed just says where."""

    hosted: bool
    connected: list[SignInAccount]
    connectable: list[SignInAccount]
    """The merchant's providers the customer has not connected yet (``email`` empty)."""
    notice: str
    """How connecting went, after the provider sent the browser back (empty otherwise)."""
    error: bool
    portal_url: str
    """Where an embedded portal's customer manages them."""
    oauth_path: str
    names: dict[str, str]
    """Each kind of provider's name (the activity log names them)."""


def _notice(notice: str, provider: str) -> str:
    """What the portal says once the provider sent the browser back from connecting (server.portal.oauth)."""
    if notice == "connected":
        return _("Your %(provider)s account is connected. You can now sign in with it.", provider=provider)
    if notice == "taken":
        return _("This %(provider)s account is already connected to another account.", provider=provider)
    if notice == "failed":
        return _("Connecting your %(provider)s account did not work. Please try again.", provider=provider)
    return ""


async def _sign_in_accounts(ctx: PortalContext, params: Params) -> SignInAccounts:
    names = await provider_names(ctx.org.id)
    connected = await list_connected_accounts(ctx.org.id, ctx.customer.id)
    done = {row.provider for row in connected}
    provider = params.get("provider", "")
    return SignInAccounts(
        hosted=ctx.hosted,
        connected=[
            SignInAccount(provider=r.provider, name=names[r.provider], email=r.email) for r in connected
        ],
        connectable=[
            SignInAccount(provider=o.provider, name=o.name, email="")
            for o in await sign_in_options(ctx.org.id)
            if o.provider not in done
        ],
        notice=_notice(params.get("notice", ""), names[provider]) if provider in names else "",
        error=params.get("notice") != "connected",
        portal_url=f"{ctx.public_url}/portal/{ctx.org.slug}?view=settings",
        oauth_path=f"/portal/{ctx.org.slug}/oauth",
        names=names,
    )


def _address(value: Any) -> dict[str, str]:
    raw = msgspec.json.decode(value) if isinstance(value, str | bytes) else (value or {})
    return {name: str(raw.get(name) or "") for name in ADDRESS_FIELDS}


def _billing_form(ctx: PortalContext, params: Params) -> dict[str, Any]:
    """The billing form's values: what the customer typed when the form came back refused (it always sends
    ``tax_id_type``), so nothing they chose or entered is lost; else what is saved."""
    if "tax_id_type" in params:
        return {
            **{name: params.get(name, "").strip() for name in BILLING_FIELDS},
            "address": {name: params.get(name, "").strip() for name in ADDRESS_FIELDS},
        }
    return {
        **{name: str(getattr(ctx.customer, name) or "") for name in BILLING_FIELDS},
        "address": _address(ctx.customer.billing_address),
    }


async def load(ctx: PortalContext, params: Params) -> AccountModel:
    customer = ctx.customer
    methods = await list_payment_methods(ctx.org.id, customer.id)
    stripe = await payment_providers.get_config(ctx.org.id)
    return AccountModel(
        add_card_open=not methods or params.get("action") == "update_payment_method",
        stripe_key=stripe.publishable_key if stripe else "",
        stripe_js=payment_providers.stripe_js_url() if stripe else "",
        activity=await list_activity(ctx.org.id, customer.id, limit=ACTIVITY_SHOWN),
        cards=[
            Card(
                id=str(m.id),
                brand=m.brand,
                last4=m.last4,
                exp_month=int(m.exp_month),
                exp_year=int(m.exp_year),
                is_default=bool(m.is_default),
                expired=card_expired(m),
            )
            for m in methods
        ],
        customer_id=str(customer.id),
        external_id=customer.external_id,
        name=customer.name,
        email=customer.email,
        **_billing_form(ctx, params),
        countries=country_choices(i18n.current_locale()),
        read_only=ctx.scopes.read_only,
        email_change=_email_change_allowed(ctx),
        sign_in=await _sign_in_accounts(ctx, params),
        data_export=await _data_export(ctx),
        deletion_requested_at=customer.deletion_requested_at,
    )


async def _data_export(ctx: PortalContext) -> DataExportState | None:
    export = await data_exports.latest_export(ctx.org.id, ctx.customer.id)
    if export is None:
        return None
    ready = export.status == DataExportStatus.READY
    return DataExportState(
        status=export.status,
        progress=int(export.progress),
        status_path=f"/embed/data-exports/{export.id}",
        download_url=document_path("export", export.id) if ready else None,
        size=int(export.size),
        expires_at=export.expires_at,
    )


def _email_change_allowed(ctx: PortalContext) -> bool:
    return load_portal_settings(ctx.org).features.email_change and not ctx.scopes.read_only


class BillingForm(Form, frozen=True):
    """The billing details as typed; the customer service's own rules (``CustomerUpdate``) check them."""

    billing_name: str = ""
    billing_email: str = ""
    company_name: str = ""
    tax_id: str = ""
    tax_id_type: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    state: str = ""
    country: str = ""
    prompts = {"billing_email": lambda: _("Please enter a valid email address.")}


BILLING_FIELDS = tuple(name for name in BillingForm.__struct_fields__ if name not in ADDRESS_FIELDS)
"""The billing form's own fields besides the address, in the form's order."""


async def update_billing(ctx: PortalContext, form: BillingForm) -> ActionResult:
    fields = {name: getattr(form, name) for name in ("billing_name", "company_name", "tax_id", "tax_id_type")}
    if fields["tax_id_type"] and fields["tax_id"]:
        try:
            validate_tax_id(fields["tax_id_type"], fields["tax_id"])
        except Invalid as exc:
            raise Invalid(
                _("This tax ID is not valid for the type chosen: check it, or choose Other.")
            ) from exc
    enabled = load_portal_settings(ctx.org).features.vies_check
    verdict = await online_verdict(enabled, fields["tax_id_type"], fields["tax_id"])
    if verdict is ViesVerdict.NOT_REGISTERED:
        raise Invalid(
            _("VIES, the EU's register of VAT numbers, does not list this number: check it, or choose Other.")
        )
    address = {name: getattr(form, name) for name in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    try:
        changes = msgspec.convert(
            {
                **fields,
                "billing_email": form.billing_email or None,
                "billing_address": {k: v for k, v in address.items() if v},
            },
            CustomerUpdate,
        )
    except msgspec.ValidationError as exc:
        raise refusal(exc, BillingForm.prompts) from exc
    customer = await update_customer(ctx.org.id, ctx.customer.id, changes)
    return ActionResult(
        message=_(
            "Billing information saved. VIES, the EU's register of VAT numbers, could not be reached: "
            "your VAT number was checked for its format only."
        )
        if verdict is ViesVerdict.UNAVAILABLE
        else _("Billing information saved."),
        events=[{"type": "customer.updated", "data": {"id": str(customer.id)}}],
    )


class CardForm(Form, frozen=True):
    payment_method_id: UUID
    prompts = {"payment_method_id": lambda: _("Please choose a card.")}


def _card_event(method_id: object) -> list[dict[str, object]]:
    return [{"type": "payment_method.updated", "data": {"id": str(method_id)}}]


async def _failed_order_ids(ctx: PortalContext) -> list[str]:
    return [str(order.id) for order in await unpaid_orders(ctx.org.id, ctx.customer.id, failed_only=True)]


async def _retried(ctx: PortalContext, done: str, before: list[str], method_id: object) -> ActionResult:
    """``done``, and what became of the unpaid orders (ids ``before``) a new default card is charged for at
    once."""
    still = {str(order.id): order for order in await unpaid_orders(ctx.org.id, ctx.customer.id)}
    paid = [order_id for order_id in before if order_id not in still]
    failed = [still[order_id] for order_id in before if order_id in still]
    message, problem = done, False
    if paid:
        message += " " + ngettext(
            "%(num)d unpaid invoice was paid with it.",
            "%(num)d unpaid invoices were paid with it.",
            len(paid),
        )
    if failed:
        order = failed[0]
        message += " " + _(
            "The payment of %(amount)s still failed: %(reason)s",
            amount=format_amount(int(order.total), order.currency),
            reason=decline_reason(order.last_payment_error),
        )
        problem = True
    return ActionResult(message=message, events=_card_event(method_id), problem=problem)


def _expiry() -> str:
    return _("Please enter the expiry month and year as numbers.")


class NewCardForm(Form, frozen=True):
    """The sandbox provider's card form (a test provider: with Stripe the number never comes here)."""

    exp_month: int
    exp_year: int
    """Two digits mean this century."""
    number: str = ""
    cvc: str = ""
    make_default: bool = False
    prompts = {"exp_month": _expiry, "exp_year": _expiry}


async def add_card(ctx: PortalContext, form: NewCardForm) -> ActionResult:
    before = await _failed_order_ids(ctx)
    method = await add_payment_method(
        ctx.org.id,
        ctx.customer.id,
        keyring=ctx.keyring,
        number=form.number,
        exp_month=form.exp_month,
        exp_year=form.exp_year + 2000 if form.exp_year < 100 else form.exp_year,
        cvc=form.cvc,
        make_default=form.make_default,
    )
    if not method.is_default:
        return ActionResult(message=_("Card added."), events=_card_event(method.id))
    return await _retried(ctx, _("Card added."), before, method.id)


class ConfirmedCardForm(Form, frozen=True):
    setup_intent: str = ""
    """The SetupIntent's id, which the Stripe service looks up."""
    make_default: bool = False


async def add_confirmed_card(ctx: PortalContext, form: ConfirmedCardForm) -> ActionResult:
    """The card the customer confirmed in Stripe.js: we get the SetupIntent's id, never the number."""
    before = await _failed_order_ids(ctx)
    method = await add_stripe_card(
        ctx.org.id, ctx.customer.id, form.setup_intent, keyring=ctx.keyring, make_default=form.make_default
    )
    if not method.is_default:
        return ActionResult(message=_("Card added."), events=_card_event(method.id))
    return await _retried(ctx, _("Card added."), before, method.id)


async def make_default(ctx: PortalContext, form: CardForm) -> ActionResult:
    before = await _failed_order_ids(ctx)
    method = await set_default_payment_method(ctx.org.id, ctx.customer.id, form.payment_method_id)
    return await _retried(ctx, _("Default card updated."), before, method.id)


async def remove_card(ctx: PortalContext, form: CardForm) -> ActionResult:
    await remove_payment_method(ctx.org.id, ctx.customer.id, form.payment_method_id)
    return ActionResult(message=_("Card removed."), events=_card_event(form.payment_method_id))


class EmailForm(Form, frozen=True):
    new_email: str = ""
    """Normalised and checked by the sign-in service."""


async def change_email(ctx: PortalContext, form: EmailForm) -> ActionResult:
    """Send a verification link to the new address; the change applies when it is opened."""
    if not _email_change_allowed(ctx):
        raise Forbidden(_("Changing the email address is not available here."))
    try:
        address = normalize_email(form.new_email)
    except Invalid as exc:
        raise Invalid(_("Please enter a valid email address.")) from exc
    if address == ctx.customer.email.lower():
        raise Invalid(_("This is already your email address."))
    try:
        await request_email_change(
            ctx.org, ctx.customer, address, keyring=ctx.keyring, public_url=ctx.public_url
        )
    except RateLimited as exc:
        raise RateLimited(
            _("Too many email changes in a short time. Please try again in an hour."),
            retry_after=exc.retry_after,
        ) from exc
    return ActionResult(
        message=_("We sent a link to %(email)s. Your email address changes when you open it.", email=address)
    )


class ProviderForm(Form, frozen=True):
    provider: OAuthProviderKind
    prompts = {"provider": lambda: _("Please choose an account.")}


async def disconnect_sign_in(ctx: PortalContext, form: ProviderForm) -> ActionResult:
    """Disconnect a provider account; signing in by email link always remains."""
    if not ctx.hosted:
        raise Forbidden(_("Manage connected accounts on your billing portal."))
    name = (await provider_names(ctx.org.id))[form.provider.value]
    await disconnect_account(ctx.org.id, ctx.customer.id, form.provider)
    return ActionResult(
        message=_(
            "Your %(provider)s account is disconnected. You can still sign in with an email link.",
            provider=name,
        ),
        events=[{"type": "customer.updated", "data": {"id": str(ctx.customer.id)}}],
    )


async def export_data(ctx: PortalContext, form: NoFields) -> ActionResult:
    """Start building a copy of the customer's data; the view shows its progress, an email says when it is
    ready."""
    await data_exports.request_export(ctx.org.id, ctx.customer.id, requested_by=Actor.CUSTOMER)
    return ActionResult(
        message=_("We are preparing a copy of your data. We email you when it is ready to download.")
    )


class DeletionForm(Form, frozen=True):
    confirm: bool = False
    """The box saying the customer understands."""


async def request_deletion(ctx: PortalContext, form: DeletionForm) -> ActionResult:
    """Ask the merchant to delete the account; nothing is deleted until they approve."""
    if not form.confirm:
        raise Invalid(_("Please confirm that you want your account deleted."))
    customer = await erasure.request_deletion(ctx.org.id, ctx.customer.id)
    return ActionResult(
        message=_("Your request to delete your account was sent. You keep access until it is carried out."),
        events=[{"type": "customer.deletion_requested", "data": {"id": str(customer.id)}}],
    )


VIEW = View(
    slug="settings",
    title="Settings",
    load=load,
    actions={
        "update_billing": update_billing,
        "add_card": add_card,
        "add_confirmed_card": add_confirmed_card,
        "make_default": make_default,
        "remove_card": remove_card,
        "change_email": change_email,
        "disconnect_sign_in": disconnect_sign_in,
        "export_data": export_data,
        "request_deletion": request_deletion,
    },
)
