"""The demo merchant app: Acme's own "Account settings" page, on its own origin, next to the portal server.

It plays the merchant's application. Its "user database" is the demo org's customers (a switcher stands in
for signing in as one of them), and its backend alone holds the secret API key: "Manage subscription" posts
to that backend, which asks the portal server for a customer session and redirects to the portal URL it
returns, exactly as a real merchant backend would. The same page embeds the portal with ``loader.js``, whose
``fetchToken`` asks this backend (``POST /billing/token``) for a fresh token the same way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import msgspec
from litestar import Litestar, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, URLEncodedBody
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_502_BAD_GATEWAY
from litestar.template import TemplateConfig

from server.db.tables import Customer, Subscription
from server.enums import SubscriptionStatus
from server.money import format_money
from server.paths import TEMPLATES_DIR

PORTAL_TIMEOUT_SECONDS = 10.0
SESSIONS_PATH = "/v1/customer-sessions"
CLOSED_STATUSES = (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)


@dataclass(frozen=True)
class MerchantConfig:
    org_id: UUID
    portal_url: str
    """Base URL of the portal server: the backend calls its API there, and customers are sent there."""
    api_key: str
    """The org's secret API key; it never leaves this backend."""
    merchant_url: str
    """This app's own base URL, given to the portal as the customer's way back."""


class ManageRequest(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: UUID


class PortalUnavailable(Exception):
    """The portal server could not open a session; the message is meant for the person on the page."""


def provide_config(state: State) -> MerchantConfig:
    config: MerchantConfig = state.merchant
    return config


async def _customers(org_id: UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await Customer.select(
            Customer.id,
            Customer.name,
            Customer.email,
            Customer.external_id,
            Customer.company_name,
            Customer.locale,
        )
        .where(Customer.org == org_id, Customer.deleted_at.is_null())
        .order_by(Customer.name)
    )
    return rows


async def _subscription(org_id: UUID, customer_id: UUID, locale: str) -> dict[str, Any] | None:
    """The customer's current plan as the merchant app shows it, or None."""
    row: dict[str, Any] | None = (
        await Subscription.select(
            Subscription.status,
            Subscription.seats,
            Subscription.current_period_end,
            Subscription.cancel_at_period_end,
            Subscription.product.name,
            Subscription.price.kind,
            Subscription.price.interval,
            Subscription.price.currency,
            Subscription.price.amount,
            Subscription.price.seat_amount,
        )
        .where(
            Subscription.org == org_id,
            Subscription.customer == customer_id,
            Subscription.status.not_in(list(CLOSED_STATUSES)),
        )
        .order_by(Subscription.created_at, ascending=False)
        .first()
    )
    if row is None:
        return None
    amount = row["price.amount"] + row["price.seat_amount"] * row["seats"]
    return {
        "product": row["product.name"],
        "status": row["status"].replace("_", " "),
        "seats": row["seats"] if row["price.kind"] == "per_seat" else None,
        "price": format_money(amount, row["price.currency"], locale),
        "interval": row["price.interval"],
        "period_end": row["current_period_end"],
        "ending": row["cancel_at_period_end"],
    }


async def request_customer_session(config: MerchantConfig, customer: dict[str, Any]) -> dict[str, Any]:
    """Ask the portal server for a customer session (by external id when the customer has one)."""
    body: dict[str, str] = (
        {"external_customer_id": customer["external_id"]}
        if customer["external_id"]
        else {"customer_id": str(customer["id"])}
    )
    body["return_url"] = f"{config.merchant_url}/?customer={customer['id']}"
    try:
        async with httpx.AsyncClient(base_url=config.portal_url, timeout=PORTAL_TIMEOUT_SECONDS) as http:
            response = await http.post(
                SESSIONS_PATH, json=body, headers={"Authorization": f"Bearer {config.api_key}"}
            )
    except httpx.HTTPError as exc:
        raise PortalUnavailable(f"The portal server at {config.portal_url} is not reachable.") from exc
    problem = _json_object(response)
    if response.status_code == 404 and problem.get("detail") in (None, "Not Found"):
        raise PortalUnavailable("The portal server does not offer customer sessions yet.")
    if response.status_code != 201:
        detail = problem.get("detail") or response.reason_phrase
        raise PortalUnavailable(
            f"The portal server refused to open a session ({response.status_code}): {detail}"
        )
    return problem


async def request_portal_url(config: MerchantConfig, customer: dict[str, Any]) -> str:
    url = (await request_customer_session(config, customer)).get("customer_portal_url")
    if not isinstance(url, str) or urlsplit(url).scheme not in {"http", "https"}:
        raise PortalUnavailable("The portal server answered without a portal URL.")
    return url


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _page(
    config: MerchantConfig, customer_id: UUID | None, *, error: str | None = None, status_code: int = 200
) -> Template:
    customers = await _customers(config.org_id)
    if customer_id is None:
        current = customers[0] if customers else None
    else:
        current = next((c for c in customers if str(c["id"]) == str(customer_id)), None)
        error = error or (None if current else "There is no such customer.")
    nonce = secrets.token_urlsafe(16)
    portal_origin = "{0.scheme}://{0.netloc}".format(urlsplit(config.portal_url))
    return Template(
        template_name="demo/account.html",
        context={
            "customers": customers,
            "current": current,
            "subscription": (
                await _subscription(config.org_id, current["id"], current["locale"]) if current else None
            ),
            "error": error,
            "nonce": nonce,
            "portal_url": config.portal_url,
        },
        status_code=status_code,
        headers={
            "Content-Security-Policy": (
                f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
                f"frame-src {portal_origin}; connect-src 'self'; form-action 'self' {portal_origin}; "
                "base-uri 'none'; frame-ancestors 'none'"
            ),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@get("/")
async def account_settings(
    config: NamedDependency[MerchantConfig], customer: FromQuery[UUID | None] = None
) -> Template:
    """The "Account settings" page of the customer chosen in the switcher."""
    return await _page(config, customer)


@post("/billing/portal", status_code=HTTP_303_SEE_OTHER)
async def manage_subscription(
    config: NamedDependency[MerchantConfig],
    data: URLEncodedBody[ManageRequest],
) -> Redirect | Template:
    """The backend half of "Manage subscription": a customer session, then off to the portal."""
    customers = {str(c["id"]): c for c in await _customers(config.org_id)}
    customer = customers.get(str(data.customer_id))
    if customer is None:
        return await _page(config, data.customer_id, status_code=404)
    try:
        url = await request_portal_url(config, customer)
    except PortalUnavailable as exc:
        return await _page(config, data.customer_id, error=str(exc), status_code=HTTP_502_BAD_GATEWAY)
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)


@post("/billing/token")
async def portal_token(
    config: NamedDependency[MerchantConfig], data: URLEncodedBody[ManageRequest]
) -> Response[str]:
    """The embedded portal's ``fetchToken``: a fresh single-use token for the signed-in customer."""
    customers = {str(c["id"]): c for c in await _customers(config.org_id)}
    customer = customers.get(str(data.customer_id))
    if customer is None:
        return Response("There is no such customer.", status_code=404, media_type="text/plain")
    try:
        session = await request_customer_session(config, customer)
    except PortalUnavailable as exc:
        return Response(str(exc), status_code=HTTP_502_BAD_GATEWAY, media_type="text/plain")
    return Response(str(session.get("token", "")), status_code=200, media_type="text/plain")


@get("/health", sync_to_thread=False)
def health() -> Response[dict[str, str]]:
    return Response({"status": "ok"})


def create_merchant_app(config: MerchantConfig) -> Litestar:
    """The merchant app; the tables must already be bound to the portal server's database."""
    return Litestar(
        route_handlers=[account_settings, manage_subscription, portal_token, health],
        dependencies={"config": Provide(provide_config, sync_to_thread=False)},
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine),
        state=State({"merchant": config}),
        openapi_config=None,
        debug=False,
    )
