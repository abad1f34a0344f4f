"""The hosted portal: ``/portal/{slug}``, a first-party page with the same widgets as the embed, in the
merchant's branding. With a live session cookie it is the portal shell; without one it is the sign-in page
(``server/portal/login.py`` handles what that page posts). It installs as a web app (``manifest``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Response, get
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from markupsafe import Markup

from server import i18n
from server.auth.sessions import HOSTED_IDLE, PortalContext, SessionExpired, authenticate_hosted_session
from server.billing import payment_providers
from server.db.tables import Organization
from server.http.types import AnyRequest
from server.oauth.providers import sign_in_options
from server.organizations.service import find_organization_by_slug
from server.portal.rendering import render
from server.portal.theme import css_variables
from server.schemas.portal_settings import load_portal_settings
from server.security.headers import hosted_headers, new_nonce
from server.security.ratelimit import count_failed_lookup, refuse_while_failing
from server.settings import Settings
from server.state import app_state
from widgets import VIEWS

SESSION_COOKIE = "ss_session"
ICONS = (
    {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
    {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
    {"src": "/static/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
)
_NOT_CSS = ("<", ">", ";", "{", "}", "\\")


def session_cookie(secret: str) -> Cookie:
    """The hosted session cookie: first-party, never readable by scripts, sent on top-level navigation."""
    return Cookie(
        key=SESSION_COOKIE,
        value=secret,
        max_age=int(HOSTED_IDLE.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def cleared_session_cookie() -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value="", max_age=0, path="/", secure=True, httponly=True, samesite="lax"
    )


def _brand_css(org: Organization) -> Markup:
    """The merchant's brand tokens as a ``:root`` rule (values passed the settings grammar; anything that
    could leave the declaration is dropped all the same)."""
    variables = css_variables(load_portal_settings(org).branding)
    declarations = (f"{k}: {v}" for k, v in variables.items() if not any(c in v for c in _NOT_CSS))
    return Markup(":root { " + "; ".join(declarations) + " }")  # noqa: S704 (checked above)


def _web_link(url: str | None) -> str | None:
    return url if url and urlsplit(url).scheme in {"http", "https"} else None


def hosted_language(
    request: AnyRequest,
    org: Organization | None,
    locale: str = "",
    stored: str | None = None,
) -> str:
    """The hosted page's locale: ``locale=``, the signed-in customer's stored locale, the browser's
    languages, the merchant's default, English."""
    default = None if org is None else load_portal_settings(org).default_locale
    return i18n.negotiate(
        locale, stored, *i18n.accept_language(request.headers.get("accept-language")), default
    )


def render_hosted(
    request: AnyRequest,
    org: Organization,
    template: str,
    *,
    language: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    processor: tuple[str, ...] = (),
    **extra: Any,
) -> Response[str]:
    """A first-party page of ``org``'s portal: branding, web-app manifest, nonce CSP, never framed."""
    settings: Settings = app_state(request).settings
    branding = load_portal_settings(org).branding
    nonce = new_nonce()
    context = {
        "nonce": nonce,
        "view": "overview",
        "origin": settings.public_origin,
        "theme": branding.default_theme,
        "locale": language,
        "requested_locale": language,
        "dir": i18n.text_direction(language),
        "instance": "",
        "query": "",
        "hosted": True,
        "org": org,
        "org_name": org.name,
        "logo_url": branding.logo_url,
        "theme_color": branding.primary_color,
        "brand_css": _brand_css(org),
        **extra,
    }
    with i18n.use_locale(language, load_portal_settings(org).wordings):
        return render(
            request,
            template,
            context,
            status=status,
            headers={**hosted_headers(nonce, processor), **(headers or {})},
        )


async def current_session(request: AnyRequest, org: Organization) -> PortalContext | None:
    """The live hosted session of ``org`` in the request's cookie; unknown or ended ids are ignored."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    state = app_state(request)
    await refuse_while_failing(request)
    try:
        ctx = await authenticate_hosted_session(secret, state.keyring, state.settings.public_url)
    except SessionExpired:
        await count_failed_lookup(request)
        return None
    return ctx if str(ctx.org.id) == str(org.id) else None


@get("/portal/{slug:str}", name="hosted-portal", include_in_schema=False)
async def hosted_portal(
    request: AnyRequest,
    slug: FromPath[str],
    view: FromQuery[str] = "overview",
    locale: FromQuery[str] = "",
    notice: FromQuery[str] = "",
    provider: FromQuery[str] = "",
) -> Response[str]:
    """``notice`` and ``provider`` pass on to the view what a redirect back to the portal has to say (how
    connecting a sign-in account went)."""
    org = await find_organization_by_slug(slug)
    language = hosted_language(request, org, locale)
    if org is None:
        nonce = new_nonce()
        context = {"nonce": nonce, "locale": language, "dir": i18n.text_direction(language)}
        with i18n.use_locale(language):
            return render(
                request, "portal/unknown_org.html", context, status=404, headers=hosted_headers(nonce)
            )
    ctx = await current_session(request, org)
    if ctx is None:
        return render_hosted(
            request,
            org,
            "portal/login.html",
            language=language,
            state="ask",
            providers=await sign_in_options(org.id),
        )
    response = render_hosted(
        request,
        org,
        "portal/shell.html",
        language=hosted_language(request, org, locale, ctx.customer.locale),
        view=view if view in VIEWS else "overview",
        query=urlencode({"notice": notice, "provider": provider}) if notice else "",
        csrf=ctx.csrf_token,
        return_url=_web_link(ctx.scopes.return_url),
        viewed_by=ctx.scopes.viewed_by,
        processor=await payment_providers.script_origins(org.id, settings=app_state(request).settings),
    )
    response.cookies.append(session_cookie(request.cookies[SESSION_COOKIE]))  # 30 more days idle
    return response


@get("/portal/{slug:str}/manifest.webmanifest", name="hosted-manifest", include_in_schema=False)
async def manifest(request: AnyRequest, slug: FromPath[str]) -> Response[Any]:
    """The web-app manifest that makes the merchant's portal installable, in its name and colours."""
    org = await find_organization_by_slug(slug)
    if org is None:
        return Response({"detail": "no such portal"}, status_code=404, headers={"cache-control": "no-store"})
    branding = load_portal_settings(org).branding
    start = f"/portal/{org.slug}"
    with i18n.use_locale(hosted_language(request, org)):
        name = i18n.gettext("%(merchant)s billing", merchant=org.name)
    body = {
        "name": name,
        "short_name": org.name[:30],
        "id": start,
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "theme_color": branding.primary_color,
        "background_color": branding.background_color,
        "icons": ICONS,
    }
    return Response(body, media_type="application/manifest+json", headers={"cache-control": "no-store"})
