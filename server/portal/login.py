"""Signing in to the hosted portal, and what the sign-in page posts.

- ``POST /portal/{slug}/login`` asks for a magic link: the same 202 page whether or not the email is known;
  6/min and 12/h per email and per IP, then 15 minutes blocked (429, no mail).
- ``POST /portal/{slug}/session`` opens what arrived in the page's fragment: a magic link (sign-in or email
  change) or a portal token from ``customer_portal_url``. Either becomes a new first-party cookie session;
  a used or expired one leads to a friendly page that sends a new link, with the email filled in.
- ``POST /portal/{slug}/choose`` picks the customer when one email belongs to several (after the link).
- ``POST /portal/{slug}/logout`` ends the session server-side.

``cookie_session`` is how any other route (the view fragments) reads the cookie session: writes through it
must carry the page's CSRF token, so a route cannot use the cookie and forget CSRF.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from itsdangerous import BadSignature, URLSafeSerializer
from litestar import Response, post
from litestar.params import FromPath, URLEncodedBody

from server import clock
from server.analytics import portal_analytics
from server.auth.csrf import check_csrf, check_same_origin
from server.auth.magic_links import (
    LinkRefused,
    customers_with_email,
    is_magic_link,
    normalize_email,
    redeem_link,
    request_login_link,
    throttle_login,
)
from server.auth.sessions import (
    LiveSession,
    SessionExpired,
    SessionScopes,
    authenticate_hosted_session,
    end_session,
    find_session,
    open_hosted_session,
    scopes_of,
)
from server.auth.tokens import InvalidToken, redeem_portal_token
from server.customers.service import apply_email_change
from server.db.engine import write_transaction
from server.db.tables import Customer, Organization, PortalSession
from server.enums import MagicLinkPurpose, SessionKind
from server.errors import Invalid, NotFound
from server.http.types import AnyRequest
from server.i18n import gettext as _
from server.oauth.providers import sign_in_options
from server.organizations.service import find_organization_by_slug
from server.portal.hosted import (
    SESSION_COOKIE,
    cleared_session_cookie,
    hosted_language,
    render_hosted,
    session_cookie,
)
from server.security.ratelimit import count_failed_lookup, refuse_while_failing
from server.settings import Settings
from server.state import app_state

CHOICE_TTL = timedelta(minutes=15)
Form = URLEncodedBody[dict[str, str]]


class Choice(msgspec.Struct, frozen=True):
    """What the customer chooser's forms carry: a verified email, signed, usable once."""

    org: str
    email: str
    link: str
    """What makes the choice single use: the magic link's id, or the OAuth flow's state."""
    exp: int
    via: str = "magic_link"


def _choice_serializer(request: AnyRequest) -> URLSafeSerializer:
    return URLSafeSerializer(list(app_state(request).keyring.secret_keys), salt="selfserve.login-choice")


async def cookie_session(request: AnyRequest) -> LiveSession:
    """The hosted session in the request's cookie. Unsafe methods must carry its CSRF token."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise SessionExpired("no session")
    await refuse_while_failing(request)
    try:
        session = await find_session(secret, SessionKind.HOSTED)
    except SessionExpired:
        await count_failed_lookup(request)
        raise
    check_csrf(request, session.csrf_secret)
    return session


async def login_page(
    request: AnyRequest, org: Organization, state: str, *, status: int, **extra: Any
) -> Response[str]:
    """The sign-in page in one of its states (``ask``, ``sent``, ``expired``, ``choose``), with the sign-in
    providers the merchant offers."""
    return render_hosted(
        request,
        org,
        "portal/login.html",
        language=hosted_language(request, org),
        status=status,
        state=state,
        providers=await sign_in_options(org.id),
        **extra,
    )


def _signed_in(org: Organization, secret: str, view: str = "overview") -> Response[str]:
    return Response(
        "",
        status_code=303,
        headers={"location": f"/portal/{org.slug}?view={view}", "cache-control": "no-store"},
        cookies=[session_cookie(secret)],
    )


async def _refused(request: AnyRequest, org: Organization, email: str | None) -> Response[str]:
    """A used, expired or unknown link or token: never an error wall, a way to a new link. One nobody issued
    (no ``email`` known for it) counts as a failed lookup of the client's address."""
    if email is None:
        await count_failed_lookup(request)
    return await login_page(request, org, "expired", status=410, email=email or "")


async def _org_or_404(request: AnyRequest, slug: str) -> Organization:
    org = await find_organization_by_slug(slug)
    if org is None:
        raise NotFound("no such billing portal")
    settings: Settings = app_state(request).settings
    check_same_origin(request, settings.public_origin)
    return org


@post("/portal/{slug:str}/login", name="hosted-login", include_in_schema=False, status_code=202)
async def request_link(request: AnyRequest, slug: FromPath[str], data: Form) -> Response[str]:
    org = await _org_or_404(request, slug)
    typed = data.get("email", "").strip()[:320]
    try:
        email = normalize_email(typed)
    except Invalid:
        return await login_page(
            request, org, "ask", status=422, email=typed, error=_("Please enter a valid email address.")
        )
    return await send_link(request, org, email)


async def send_link(request: AnyRequest, org: Organization, email: str) -> Response[str]:
    """Email a sign-in link to ``email`` (normalized) if it has an account, and say so neutrally: the same
    answer whether or not it has one. Counted against the per-email and per-IP limits."""
    client = request.client.host if request.client else "unknown"
    wait = await throttle_login(
        app_state(request).rate_limiter, [f"login:email:{email}", f"login:ip:{client}"]
    )
    if wait is not None:
        error = _("Too many sign-in requests. Please wait %(minutes)d minutes and try again.", minutes=15)
        return await login_page(
            request, org, "ask", status=429, email=email, error=error, headers={"retry-after": str(wait)}
        )
    state = app_state(request)
    await request_login_link(org, email, keyring=state.keyring, public_url=state.settings.public_url)
    return await login_page(request, org, "sent", status=202, email=email)


@post("/portal/{slug:str}/session", name="hosted-session", include_in_schema=False, status_code=303)
async def open_session(request: AnyRequest, slug: FromPath[str], data: Form) -> Response[str]:
    org = await _org_or_404(request, slug)
    await refuse_while_failing(request)
    token = data.get("token", "").strip()
    if is_magic_link(token):
        return await _open_magic_link(request, org, token)
    state = app_state(request)
    try:
        claims = await redeem_portal_token(
            token,
            keyring=state.keyring,
            replay_store=state.replay_store,
            expected_org_id=org.id,
            origin=state.settings.public_origin,
        )
    except InvalidToken as exc:
        return await _refused(request, org, await _token_email(org, exc))
    secret, session = await open_hosted_session(
        org.id, claims.customer_id, scopes_of(claims), replacing=request.cookies.get(SESSION_COOKIE)
    )
    await _record_login(session, "link")
    return _signed_in(org, secret, claims.views[0] if claims.views else "overview")


async def _record_login(session: PortalSession, via: str) -> None:
    """Analytics: how this portal session was opened."""
    await portal_analytics.record(
        UUID(str(session.org)),
        UUID(str(session.customer)),
        portal_analytics.SESSION_OPENED,
        session_id=UUID(str(session.id)),
        properties={"via": via},
    )


async def _token_email(org: Organization, exc: InvalidToken) -> str | None:
    """The email of the customer an expired or used (but genuine) token names, to pre-fill a new link."""
    if exc.claims is None or exc.claims.org != str(org.id):
        return None
    row = (
        await Customer.select(Customer.email)
        .where(Customer.org == org.id, Customer.id == exc.claims.customer_id)
        .first()
    )
    return str(row["email"]) if row else None


async def _open_magic_link(request: AnyRequest, org: Organization, token: str) -> Response[str]:
    previous = request.cookies.get(SESSION_COOKIE)
    try:
        async with write_transaction():
            link = await redeem_link(org.id, token)
            if link.purpose == MagicLinkPurpose.EMAIL_CHANGE:
                customers = [await apply_email_change(link)]
            else:
                customers = await customers_with_email(org.id, link.email)
            if len(customers) == 1:
                secret, session = await open_hosted_session(
                    org.id, customers[0].id, SessionScopes(), replacing=previous
                )
                await _record_login(session, "magic_link")
    except (LinkRefused, NotFound) as exc:
        return await _refused(request, org, getattr(exc, "email", None))
    if not customers:
        return await _refused(request, org, link.email)
    if len(customers) > 1:
        return await choice_page(
            request, org, customers, email=link.email, once=str(link.id), via="magic_link"
        )
    return _signed_in(
        org, secret, "settings" if link.purpose == MagicLinkPurpose.EMAIL_CHANGE else "overview"
    )


async def choice_page(
    request: AnyRequest,
    org: Organization,
    customers: list[Customer],
    *,
    email: str,
    once: str,
    via: str,
) -> Response[str]:
    """The account chooser for a verified ``email`` several customers share; ``once`` makes it single use."""
    choice = Choice(
        org=str(org.id), email=email, link=once, exp=int((clock.now() + CHOICE_TTL).timestamp()), via=via
    )
    ticket = _choice_serializer(request).dumps(msgspec.to_builtins(choice))
    return await login_page(
        request, org, "choose", status=200, email=email, customers=customers, ticket=ticket
    )


async def open_session_for(
    request: AnyRequest, org: Organization, customer_id: UUID, via: str
) -> Response[str]:
    """Sign the browser in as the customer: a new session (the browser's previous one ends), counted."""
    secret, session = await open_hosted_session(
        org.id, customer_id, SessionScopes(), replacing=request.cookies.get(SESSION_COOKIE)
    )
    await _record_login(session, via)
    return _signed_in(org, secret)


@post("/portal/{slug:str}/choose", name="hosted-choose", include_in_schema=False, status_code=303)
async def choose_customer(request: AnyRequest, slug: FromPath[str], data: Form) -> Response[str]:
    org = await _org_or_404(request, slug)
    try:
        choice = msgspec.convert(_choice_serializer(request).loads(data.get("ticket", "")), Choice)
    except (BadSignature, msgspec.ValidationError):
        return await _refused(request, org, None)
    expires = datetime.fromtimestamp(choice.exp, UTC)
    if choice.org != str(org.id) or expires <= clock.now():
        return await _refused(request, org, choice.email)
    chosen = [
        c for c in await customers_with_email(org.id, choice.email) if str(c.id) == data.get("customer")
    ]
    if not chosen:
        return await _refused(request, org, choice.email)
    async with write_transaction():
        if not await app_state(request).replay_store.burn(f"choice:{choice.link}", org.id, expires):
            return await _refused(request, org, choice.email)
        return await open_session_for(request, org, chosen[0].id, choice.via)


@post("/portal/{slug:str}/logout", name="hosted-logout", include_in_schema=False, status_code=303)
async def logout(request: AnyRequest, slug: FromPath[str], data: Form) -> Response[str]:
    """End the session server-side (it needs the page's CSRF token) and forget the cookie."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        state = app_state(request)
        try:
            ctx = await authenticate_hosted_session(secret, state.keyring, state.settings.public_url)
        except SessionExpired:
            pass
        else:
            check_csrf(request, ctx.csrf_token, data)
        await end_session(secret)
    return Response(
        "",
        status_code=303,
        headers={"location": f"/portal/{slug}", "cache-control": "no-store"},
        cookies=[cleared_session_cookie()],
    )
