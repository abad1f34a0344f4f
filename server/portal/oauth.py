"""Signing in, and connecting an account, through GitHub, Google or the merchant's OpenID Connect provider
(CONTRACT §9): ``GET /portal/{slug}/oauth/{provider}/start`` sends the browser to the provider, which sends
it back to ``GET /portal/{slug}/oauth/{provider}/callback``.

A flow's secrets (state, nonce, PKCE verifier) travel in a signed cookie that lives 10 minutes and only on
the callback's path, so a flow finishes in the browser that started it; the callback burns the state, so
each flow is used once and a replayed callback never reaches the provider.

Signing in opens a session exactly as a magic link does (``server.portal.login``) for the customers
``connected_accounts.customers_for_identity`` names; when it names nobody (an unverified or unknown email)
the person gets the magic-link form's answer for that address, so the page never tells whether it has an
account. Connecting starts from the hosted settings with a live session: the link must come from the
portal itself (``check_same_origin``: a cross-site page cannot start it) and the callback must come back
to that same session.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

import msgspec
from itsdangerous import BadData, URLSafeTimedSerializer
from litestar import Response, get
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery

from server import clock
from server.activity import acting_as
from server.auth.csrf import CsrfRefused, check_same_origin
from server.auth.magic_links import normalize_email
from server.auth.oauth import Identity, Pending, SignInFailed, begin, code_of, finish
from server.db.tables import Organization
from server.enums import Actor, OAuthProviderKind
from server.errors import Conflict, DomainError, Invalid
from server.http.types import AnyRequest
from server.i18n import gettext as _
from server.oauth.connected_accounts import connect_account, customers_for_identity
from server.oauth.providers import callback_url, provider_client
from server.organizations.service import find_organization_by_slug
from server.portal.hosted import current_session
from server.portal.login import choice_page, login_page, open_session_for, send_link
from server.settings import Settings
from server.state import app_state

log = logging.getLogger("selfserve.oauth")

FLOW_COOKIE = "ss_oauth"
FLOW_TTL = timedelta(minutes=10)
CONNECT = "connect"


class Flow(msgspec.Struct, frozen=True):
    """One flow in progress, as its cookie carries it (signed, so the browser cannot change it)."""

    org: str
    provider: str
    pending: Pending
    session: str | None = None
    """Connecting: the id of the hosted session that asked; signing in: None."""


def _serializer(request: AnyRequest) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(app_state(request).keyring.secret_keys), salt="selfserve.oauth-flow")


def _flow_cookie(slug: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=FLOW_COOKIE,
        value=value,
        max_age=max_age,
        path=f"/portal/{slug}/oauth/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def _kind(provider: str) -> OAuthProviderKind | None:
    try:
        return OAuthProviderKind(provider)
    except ValueError:
        return None


def _see_other(location: str, *cookies: Cookie) -> Response[str]:
    return Response(
        "",
        status_code=303,
        headers={"location": location, "cache-control": "no-store"},
        cookies=list(cookies),
    )


async def _failed(request: AnyRequest, org: Organization, status: int = 400) -> Response[str]:
    """The sign-in page, saying the provider route did not work and the email link still does."""
    error = _("Signing in that way did not work. Please try again, or get a sign-in link by email.")
    return await login_page(request, org, "ask", status=status, email="", error=error)


@get("/portal/{slug:str}/oauth/{provider:str}/start", name="oauth-start", include_in_schema=False)
async def start(
    request: AnyRequest, slug: FromPath[str], provider: FromPath[str], intent: FromQuery[str] = ""
) -> Response[str]:
    """Send the browser to the provider; ``intent=connect`` (from the hosted settings) connects an account
    to the signed-in customer instead of signing in."""
    org = await find_organization_by_slug(slug)
    kind = _kind(provider)
    if org is None:
        return _see_other(f"/portal/{slug}")
    if kind is None:
        return await _failed(request, org, 404)
    state, settings = app_state(request), app_state(request).settings
    session_id = None
    if intent == CONNECT:
        try:
            check_same_origin(request, settings.public_origin)
        except CsrfRefused:
            return _see_other(f"/portal/{slug}?view=settings")
        ctx = await current_session(request, org)
        if ctx is None:
            return _see_other(f"/portal/{slug}")
        session_id = str(ctx.session_id)
    try:
        client = await provider_client(org.id, kind, keyring=state.keyring, settings=settings)
        url, pending = await begin(client, callback_url(settings.public_url, slug, kind))
    except DomainError as exc:
        log.warning("%s sign-in for %s could not start: %s", kind, slug, exc.detail)
        return await _failed(request, org, exc.status)
    flow = Flow(org=str(org.id), provider=kind.value, pending=pending, session=session_id)
    value = _serializer(request).dumps(msgspec.to_builtins(flow))
    return _see_other(url, _flow_cookie(slug, value, int(FLOW_TTL.total_seconds())))


def _flow(request: AnyRequest, org: Organization, kind: OAuthProviderKind) -> Flow | None:
    """The flow this browser started for ``org`` and ``kind`` within the last 10 minutes, if any."""
    try:
        raw = _serializer(request).loads(
            request.cookies.get(FLOW_COOKIE, ""), max_age=int(FLOW_TTL.total_seconds())
        )
        flow = msgspec.convert(raw, Flow)
    except (BadData, msgspec.ValidationError):
        return None
    return flow if flow.org == str(org.id) and flow.provider == kind.value else None


@get("/portal/{slug:str}/oauth/{provider:str}/callback", name="oauth-callback", include_in_schema=False)
async def callback(request: AnyRequest, slug: FromPath[str], provider: FromPath[str]) -> Response[str]:
    org = await find_organization_by_slug(slug)
    kind = _kind(provider)
    if org is None:
        return _see_other(f"/portal/{slug}")
    flow = _flow(request, org, kind) if kind is not None else None
    if kind is None or flow is None:
        response = await _failed(request, org)
    else:
        response = await _finish(request, org, kind, flow)
    response.cookies.append(_flow_cookie(slug, "", 0))
    return response


async def _finish(
    request: AnyRequest, org: Organization, kind: OAuthProviderKind, flow: Flow
) -> Response[str]:
    state = app_state(request)
    settings: Settings = state.settings
    try:
        code = code_of(str(request.url), flow.pending)
        if not await state.replay_store.burn(f"oauth:{flow.pending.state}", org.id, clock.now() + FLOW_TTL):
            raise SignInFailed("this sign-in was already used")
        client = await provider_client(org.id, kind, keyring=state.keyring, settings=settings)
        identity = await finish(client, callback_url(settings.public_url, org.slug, kind), flow.pending, code)
    except DomainError as exc:
        log.info("%s sign-in for %s refused: %s", kind, org.slug, exc.detail)
        if flow.session is not None:
            return _see_other(_settings_url(org, "failed", kind))
        return await _failed(request, org)
    if flow.session is not None:
        return await _connect(request, org, flow.session, identity)
    customers = await customers_for_identity(org.id, identity)
    via = f"oauth:{kind}"
    if len(customers) == 1:
        return await open_session_for(request, org, customers[0].id, via)
    if customers and identity.email:
        return await choice_page(
            request, org, customers, email=identity.email.lower(), once=f"oauth:{flow.pending.state}", via=via
        )
    try:
        email = normalize_email(identity.email or "")
    except Invalid:
        return await _failed(request, org)
    return await send_link(request, org, email)


def _settings_url(org: Organization, notice: str, kind: OAuthProviderKind) -> str:
    return f"/portal/{org.slug}?" + urlencode({"view": "settings", "notice": notice, "provider": kind.value})


async def _connect(
    request: AnyRequest, org: Organization, session_id: str, identity: Identity
) -> Response[str]:
    """Connect the identity to the customer of the session that started the flow (still the browser's)."""
    ctx = await current_session(request, org)
    if ctx is None or str(ctx.session_id) != session_id:
        return _see_other(f"/portal/{org.slug}")
    with acting_as(Actor.CUSTOMER, ctx.session_id):
        try:
            await connect_account(org.id, ctx.customer.id, identity)
        except Conflict:
            return _see_other(_settings_url(org, "taken", identity.provider))
    return _see_other(_settings_url(org, "connected", identity.provider))
