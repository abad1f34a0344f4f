"""The embedded portal (EMBEDDING.md): the org-neutral shell, the token → session exchange, and the view
fragments and actions that the frame fetches with its bearer session."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, URLEncodedBody

from server import i18n
from server.activity import acting_as
from server.analytics import portal_analytics
from server.auth.sessions import (
    LiveSession,
    PortalContext,
    end_session,
    open_embed_session,
    renew_embed_session,
)
from server.auth.tokens import InvalidToken, redeem_portal_token, signer_of
from server.billing import payment_providers, payments, stripe_events
from server.db.tables import Organization
from server.enums import Actor
from server.errors import DomainError, Forbidden, NotFound
from server.http.types import AnyRequest
from server.organizations import service as orgs
from server.portal.documents import document_link
from server.portal.problems import customer_message
from server.portal.rendering import render
from server.portal.theme import css_variables
from server.portal.view_cache import key_for
from server.portal.wiring import (
    SESSION_EXCEPTION_HANDLERS,
    bearer_secret,
    load_portal_context,
    provide_portal_context,
    provide_session,
    scopes_of_session,
    writable,
)
from server.privacy import data_exports
from server.schemas.portal_settings import PortalSettings, load_portal_settings
from server.schemas.views import VIEW_NAMES
from server.security.headers import embed_headers, new_nonce
from server.security.origins import OriginError, normalize_origin_pattern, origin_matches
from server.security.ratelimit import count_failed_lookup, refuse_while_failing
from server.state import app_state
from server.usage import portal_news
from widgets import VIEWS, View
from widgets.base import read_form

THEMES = ("auto", "light", "dark")
LOCALE_HEADER = "x-selfserve-locale"
"""What the frame asks every fetch to speak: the embed's ``locale=`` (empty for none), or the hosted page's
negotiated locale. It outranks the customer's stored locale."""


class SessionRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    origin: str


class SessionResponse(msgspec.Struct, frozen=True):
    session: str
    expires_at: str
    views: list[str]
    theme: dict[str, str]
    locale: str
    title: str
    return_url: str | None


def _parent_origin(origin: str) -> str:
    try:
        normalized = normalize_origin_pattern(origin)
    except OriginError as exc:
        raise Forbidden("the embedding page did not say which origin it is") from exc
    if "*" in normalized:
        raise Forbidden("the embedding page's origin must be a real origin")
    return normalized


def _allowed_origins(org: Organization | dict[str, Any]) -> list[str]:
    value = org["allowed_origins"] if isinstance(org, dict) else org.allowed_origins
    decoded: list[str] = msgspec.json.decode(value) if isinstance(value, str | bytes) else list(value or [])
    return decoded


def visible_views(settings: PortalSettings, scoped: list[str] | None) -> list[str]:
    """Views the org shows, narrowed by the token's list, in registry order."""
    shown = [name for name in VIEW_NAMES if settings.sections.shows(name)]
    return [name for name in shown if scoped is None or name in scoped]


class EmbedController(Controller):
    path = "/embed"
    include_in_schema = False
    dependencies = {"session": Provide(provide_session), "ctx": Provide(provide_portal_context)}
    exception_handlers = SESSION_EXCEPTION_HANDLERS

    @get("/", name="embed-shell")
    async def shell(
        self,
        request: AnyRequest,
        view: FromQuery[str],
        origin: FromQuery[str],
        theme: FromQuery[str] = "auto",
        locale: FromQuery[str] = "",
        org_slug: Annotated[str | None, QueryParameter(name="org")] = None,
        id: FromQuery[str] = "",
        action: FromQuery[str] = "",
        subscription_id: FromQuery[str] = "",
    ) -> Response[str]:
        """The iframe page: carries no customer data until the frame exchanges a token for a session."""
        nonce = new_nonce()
        requested = locale.strip()[:35]
        org = None if org_slug is None else await orgs.find_organization_by_slug(org_slug)
        language = i18n.negotiate(
            requested, None if org is None else load_portal_settings(org).default_locale
        )
        try:
            parent = _parent_origin(origin)
        except Forbidden:
            with i18n.use_locale(language):
                refusal = i18n.gettext("This page can only be shown inside a page that names its origin.")
            return Response(refusal, status_code=400, headers={"content-language": i18n.html_lang(language)})
        context = {
            "nonce": nonce,
            "view": view if view in VIEWS else next(iter(VIEWS)),
            "origin": parent,
            "theme": theme if theme in THEMES else "auto",
            "locale": language,
            "requested_locale": requested,
            "dir": i18n.text_direction(language),
            "instance": id[:64],
            "query": urlencode({"action": action, "subscription_id": subscription_id}) if action else "",
        }
        headers = embed_headers(parent, nonce)
        if org_slug is not None and (org is None or not origin_matches(parent, _allowed_origins(org))):
            with i18n.use_locale(language):
                return render(request, "portal/refused.html", context, status=403, headers=headers)
        if org is not None:
            settings = app_state(request).settings
            headers = embed_headers(
                parent, nonce, await payment_providers.script_origins(org.id, settings=settings)
            )
        with i18n.use_locale(language):
            return render(request, "portal/shell.html", context, headers=headers)

    @post("/session", name="embed-session")
    async def exchange(self, request: AnyRequest, data: JSONBody[SessionRequest]) -> Response[Any]:
        """Token → bearer session (EMBEDDING.md step 4), or renewal of the session in ``Authorization``."""
        parent = _parent_origin(data.origin)
        await refuse_while_failing(request)
        try:
            org = await signer_of(data.token)
            first_party = parent == app_state(request).settings.public_origin
            if org is None:
                await count_failed_lookup(request)
            if org is None or not (first_party or origin_matches(parent, _allowed_origins(org))):
                return Response(
                    {"code": "origin_refused", "origin": parent},
                    status_code=403,
                    headers={"cache-control": "no-store"},
                )
            claims = await redeem_portal_token(
                data.token,
                keyring=app_state(request).keyring,
                replay_store=app_state(request).replay_store,
                origin=parent,
                signer=org,
            )
        except InvalidToken as exc:
            if exc.claims is None:  # not genuine; an expired or used token was issued by the merchant
                await count_failed_lookup(request)
            return Response(
                {"code": f"token_{exc.reason}"}, status_code=401, headers={"cache-control": "no-store"}
            )
        if "authorization" in request.headers:
            secret = bearer_secret(request)
            expires_at = (await renew_embed_session(secret, claims, parent)).expires_at
        else:
            secret, session = await open_embed_session(claims, parent)
            expires_at = session.expires_at
            if claims.viewed_by is None:  # a staff member's preview is not the customer's use
                await app_state(request).portal_events.add(
                    claims.org_id,
                    claims.customer_id,
                    portal_analytics.SESSION_OPENED,
                    session_id=session.id,
                    properties={"via": "link" if first_party else "embed"},
                )
        settings = load_portal_settings(org)
        language = i18n.negotiate(
            request.headers.get(LOCALE_HEADER), org["customer_locale"], settings.default_locale
        )
        body = SessionResponse(
            session=secret,
            expires_at=expires_at.isoformat(),
            views=visible_views(settings, claims.views),
            theme=css_variables(settings.branding),
            locale=language,
            title=org["name"],
            return_url=claims.return_url,
        )
        return Response(body, status_code=201, headers={"cache-control": "no-store"})

    @delete("/session", name="embed-logout", status_code=204)
    async def logout(self, request: AnyRequest) -> None:
        await end_session(bearer_secret(request))

    @get("/views/{view:str}", name="embed-view")
    async def view(
        self, request: AnyRequest, session: NamedDependency[LiveSession], view: FromPath[str]
    ) -> Response[Any]:
        """A view fragment. Opened without parameters it comes from the view cache while the customer's and
        the merchant's data are unchanged (``server.portal.view_cache``)."""
        state, params = app_state(request), dict(request.query_params)
        if params:
            response = await _render_fresh(request, session, view, params)
        else:
            html = await state.view_cache.get_or_make(
                key_for(view, session, request.headers.get(LOCALE_HEADER, "")),
                lambda: _fragment(request, session, view),
            )
            response = Response(html, media_type="text/html", headers={"cache-control": "no-store"})
        if not _staff_view(session):  # a merchant's preview leaves the customer's news for the customer
            announced = await portal_news.for_view(session.org_id, session.customer_id)
            if announced:
                response.headers["x-selfserve-events"] = msgspec.json.encode(announced).decode()
        if "action" not in params and not _staff_view(session):
            await state.portal_events.add(
                session.org_id,
                session.customer_id,
                portal_analytics.VIEW_OPENED,
                session_id=session.id,
                properties={"view": view},
            )
        return response

    @post("/documents/{kind:str}/{ref:uuid}", name="embed-document-link", status_code=201)
    async def document(
        self,
        request: AnyRequest,
        session: NamedDependency[LiveSession],
        kind: FromPath[str],
        ref: FromPath[UUID],
    ) -> Response[dict[str, str]]:
        """A fresh single-use download link for the session's customer (``server.portal.documents``)."""
        url = document_link(app_state(request).keyring, session.org_id, session.customer_id, ref, kind)
        return Response({"url": url}, status_code=201, headers={"cache-control": "no-store"})

    @get("/data-exports/{export_id:uuid}", name="embed-data-export")
    async def data_export(
        self, session: NamedDependency[LiveSession], export_id: FromPath[UUID]
    ) -> Response[Any]:
        """How far the session's customer's data export is: the settings view polls this for its progress
        bar (``server.privacy.data_exports``)."""
        export = await data_exports.get_export(session.org_id, session.customer_id, export_id)
        return Response(
            {"status": export.status, "progress": int(export.progress)}, headers={"cache-control": "no-store"}
        )

    @post("/card-setup", name="embed-card-setup", status_code=201, guards=[writable])
    async def card_setup(self, ctx: NamedDependency[PortalContext]) -> Response[Any]:
        """A Stripe SetupIntent for a new card of the session's customer: the client secret Stripe.js
        confirms in the page with the card the customer typed there (the number never comes here)."""
        client_secret = await payments.start_card_setup(ctx.org.id, ctx.customer.id)
        return Response(
            {"client_secret": client_secret}, status_code=201, headers={"cache-control": "no-store"}
        )

    @post(
        "/orders/{order_id:uuid}/confirmation",
        name="embed-payment-confirmation",
        status_code=201,
        guards=[writable],
    )
    async def payment_confirmation(
        self, ctx: NamedDependency[PortalContext], order_id: FromPath[UUID]
    ) -> Response[Any]:
        """The client secret of an order's payment that the bank asks the customer to authenticate (3-D
        Secure): Stripe.js runs the challenge in the page, then the orders view's ``confirm_payment`` action
        asks Stripe how it went."""
        client_secret = await stripe_events.confirmation_secret(ctx.org.id, ctx.customer.id, order_id)
        return Response(
            {"client_secret": client_secret}, status_code=201, headers={"cache-control": "no-store"}
        )

    @post("/views/{view:str}/{action:str}", name="embed-action", guards=[writable])
    async def action(
        self,
        request: AnyRequest,
        session: NamedDependency[LiveSession],
        ctx: NamedDependency[PortalContext],
        view: FromPath[str],
        action: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Every view action is a write (hence the guard)."""
        widget = _widget(ctx, view)
        handler = widget.actions.get(action)
        if handler is None:
            raise NotFound("no such action")
        wordings = load_portal_settings(ctx.org).wordings
        with i18n.use_locale(_locale(request, ctx), wordings), acting_as(Actor.CUSTOMER, ctx.session_id):
            try:
                result = await handler(ctx, read_form(handler, data))
            except DomainError as exc:
                await _record_action(ctx, view, action, "failed")
                return await render_view(
                    request, ctx, widget, data, message=customer_message(exc), status=exc.status, error=True
                )
        await _record_action(ctx, view, action, "succeeded")
        # the action may have changed the customer or the org this context holds: render from fresh rows
        fresh = await load_portal_context(request, session)
        response = await render_view(
            request,
            fresh,
            widget,
            result.then,
            message=result.message,
            status=200,
            error=result.problem,
            reveal=result.reveal,
        )
        response.headers["x-selfserve-events"] = msgspec.json.encode(result.events).decode()
        return response


async def _record_action(ctx: PortalContext, view: str, action: str, outcome: str) -> None:
    await portal_analytics.record(
        ctx.org.id,
        ctx.customer.id,
        portal_analytics.ACTION,
        session_id=ctx.session_id,
        outcome=outcome,
        properties={"view": view, "action": action},
    )


def _staff_view(session: LiveSession) -> bool:
    """A staff member's look from the console: not the customer's use of the portal, so not counted."""
    return scopes_of_session(session).viewed_by is not None


async def _render_fresh(
    request: AnyRequest, session: LiveSession, view: str, params: dict[str, str]
) -> Response[str]:
    ctx = await load_portal_context(request, session)
    return await render_view(request, ctx, _widget(ctx, view), params, message=None, status=200)


async def _fragment(request: AnyRequest, session: LiveSession, view: str) -> str:
    response = await _render_fresh(request, session, view, {})
    return str(response.content)


def _locale(request: AnyRequest, ctx: PortalContext) -> str:
    """The frame's requested locale, else the customer's stored one, else the merchant's default."""
    return i18n.negotiate(
        request.headers.get(LOCALE_HEADER), ctx.customer.locale, load_portal_settings(ctx.org).default_locale
    )


def _widget(ctx: PortalContext, view: str) -> View:
    settings = load_portal_settings(ctx.org)
    if view not in visible_views(settings, ctx.scopes.views):
        raise NotFound("this section is not available")
    return VIEWS[view]


async def render_view(
    request: AnyRequest,
    ctx: PortalContext,
    widget: View,
    params: dict[str, str],
    *,
    message: str | None,
    status: int,
    error: bool = False,
    reveal: str | None = None,
) -> Response[str]:
    settings = load_portal_settings(ctx.org)
    language = _locale(request, ctx)
    with i18n.use_locale(language, settings.wordings):
        model = await widget.load(ctx, params)
        return render(
            request,
            widget.template,
            {
                "model": model,
                "view": widget,
                "views": [VIEWS[slug] for slug in visible_views(settings, ctx.scopes.views)],
                "settings": settings,
                "message": message,
                "error": error,
                "reveal": reveal,
                "read_only": ctx.scopes.read_only,
                "locale": language,
            },
            status=status,
            headers={"cache-control": "no-store"},
        )
