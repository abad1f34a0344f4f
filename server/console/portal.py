"""Portal settings in the console: branding, welcome message and links, sections, cancellation options,
retention offers, allowed origins, sign-in methods, with a live preview of the real portal and an embed
snippet generator.

The form becomes a ``PortalSettingsPatch`` and goes through ``update_portal_settings``, exactly as
``PATCH /v1/portal-settings`` does; a sign-in provider goes through ``oauth_providers.put_provider`` and
``delete_provider``, as ``PUT`` and ``DELETE /v1/oauth-providers/{provider}`` do
(its secret never shown back).

The preview is the embedded portal itself (``/embed`` framed by this page, which is the portal's own
origin) for one customer, opened read-only by a token that names the staff member, so it is not counted in
analytics; while the merchant types, ``/console/portal/theme`` answers the brand's CSS variables from
``server.portal.theme`` (what the portal applies) and the page sets them on it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from server import i18n
from server.console.auth import Staff
from server.console.guards import requires_admin, requires_viewer
from server.console.pages import api_input, done, render_page
from server.console.retention import retention_fields, retention_input, submitted_retention
from server.db.tables import Customer, Subscription
from server.enums import CancellationReason, OAuthProviderKind, SubscriptionStatus
from server.errors import DomainError, NotFound
from server.http.types import AnyRequest
from server.oauth import providers as oauth_providers
from server.oauth.schemas import OAuthProviderOut, OAuthProviderPut
from server.organizations.customer_sessions import portal_link
from server.portal.theme import css_variables
from server.portal_settings.schemas import PortalSettingsPatch, PortalSettingsResource
from server.portal_settings.service import check_branding, get_portal_settings, update_portal_settings
from server.retention import service as retention
from server.retention.schemas import OFFER_KINDS
from server.schemas.portal_settings import Branding, Sections
from server.state import app_state
from widgets import VIEWS

SECTIONS = tuple(msgspec.structs.asdict(Sections()))
BRANDING_FIELDS = ("logo_url", "primary_color", "background_color", "text_color", "radius", "font_family")
LINK_FIELDS = ("support_url", "terms_url", "privacy_url")
THEMES = ("auto", "light", "dark")
REFUNDS = ("payment_method", "wallet", "none")
PREVIEW_TTL = 300
PROVIDER_TITLES = {
    OAuthProviderKind.OIDC: "OpenID Connect",
    OAuthProviderKind.GITHUB: "GitHub",
    OAuthProviderKind.GOOGLE: "Google",
}
PROVIDER_FIELDS = ("client_id", "client_secret", "issuer", "name")


def form_fields(settings: PortalSettingsResource) -> dict[str, Any]:
    """The settings as the form's fields hold them."""
    brand, links, features = settings.branding, settings.links, settings.features
    return {
        **{name: getattr(brand, name) or "" for name in BRANDING_FIELDS},
        "default_theme": brand.default_theme,
        "welcome_message": settings.welcome_message,
        "default_locale": settings.default_locale,
        **{name: getattr(links, name) or "" for name in LINK_FIELDS},
        "sections": [name for name in SECTIONS if getattr(settings.sections, name)],
        "cancellation_reasons": [str(r) for r in features.cancellation_reasons],
        "immediate_cancel": features.immediate_cancel,
        "immediate_cancel_refund": features.immediate_cancel_refund,
        "pause": features.pause,
        "allowed_origins": "\n".join(settings.allowed_origins),
    }


def submitted_fields(form: FormMultiDict) -> dict[str, Any]:
    text = {key: str(form.get(key, "")).strip() for key in form}
    return {
        **text,
        "sections": [str(v) for v in form.getall("sections")] if "sections" in form else [],
        "cancellation_reasons": [str(v) for v in form.getall("cancellation_reasons")]
        if "cancellation_reasons" in form
        else [],
        "immediate_cancel": "immediate_cancel" in form,
        "pause": "pause" in form,
    }


def settings_patch(fields: dict[str, Any]) -> Any:
    """The submitted form as the API's PATCH body (an empty URL clears it)."""
    patch = {
        "branding": {
            **{name: fields.get(name, "") or None for name in ("logo_url",)},
            **{name: fields.get(name, "") for name in BRANDING_FIELDS if name != "logo_url"},
            "default_theme": fields.get("default_theme", "auto"),
        },
        "welcome_message": fields.get("welcome_message", ""),
        "links": {name: fields.get(name, "") or None for name in LINK_FIELDS},
        "sections": {name: name in fields["sections"] for name in SECTIONS},
        "features": {
            "cancellation_reasons": fields["cancellation_reasons"],
            "immediate_cancel": fields["immediate_cancel"],
            "immediate_cancel_refund": fields.get("immediate_cancel_refund", "payment_method"),
            "pause": fields["pause"],
        },
        "allowed_origins": [o.strip() for o in fields.get("allowed_origins", "").splitlines() if o.strip()],
    }
    if fields.get("default_locale"):
        patch["default_locale"] = fields["default_locale"]
    return api_input(patch, PortalSettingsPatch)


class PortalSettingsController(Controller):
    path = "/portal"

    @get("/", name="console-portal", guards=[requires_viewer])
    async def page(
        self,
        request: AnyRequest,
        staff: NamedDependency[Staff],
        view: FromQuery[str] = "overview",
        theme: FromQuery[str] = "auto",
        origin: FromQuery[str] = "",
    ) -> Response[str]:
        settings = await get_portal_settings(staff.org.id)
        snippet = {
            "view": view if view in VIEWS else "overview",
            "theme": theme if theme in THEMES else "auto",
        }
        snippet["origin"] = (
            origin if origin in settings.allowed_origins else next(iter(settings.allowed_origins), "")
        )
        return await portal_page(request, staff, settings, form_fields(settings), snippet=snippet)

    @post("/", name="console-portal-save", guards=[requires_admin])
    async def save(self, request: AnyRequest, staff: NamedDependency[Staff]) -> Response[str]:
        fields = submitted_fields(await request.form())
        try:
            await update_portal_settings(staff.org.id, settings_patch(fields))
        except DomainError as exc:
            current = await get_portal_settings(staff.org.id)
            return await portal_page(request, staff, current, fields, status=exc.status, error=exc.detail)
        return done(request, "/console/portal", "Portal settings saved.")

    @post("/retention", name="console-retention-save", guards=[requires_admin])
    async def save_retention(self, request: AnyRequest, staff: NamedDependency[Staff]) -> Response[str]:
        """The retention offers, through the service ``PUT /v1/retention-settings`` uses."""
        typed = submitted_retention(await request.form())
        try:
            await retention.put_settings(staff.org.id, retention_input(typed))
        except DomainError as exc:
            settings = await get_portal_settings(staff.org.id)
            fields = form_fields(settings)
            return await portal_page(
                request, staff, settings, fields, status=exc.status, error=exc.detail, offers=typed
            )
        return done(request, "/console/portal", "Retention offers saved.")

    @post("/sign-in/{provider:str}", name="console-sign-in-set", guards=[requires_admin])
    async def set_sign_in(
        self, request: AnyRequest, staff: NamedDependency[Staff], provider: FromPath[str]
    ) -> Response[str]:
        """Set up or change a sign-in provider; a blank secret keeps the stored one."""
        kind = _provider_kind(provider)
        form = await request.form()
        typed = {name: str(form.get(name, "")).strip() for name in PROVIDER_FIELDS}
        body: dict[str, Any] = {"client_id": typed["client_id"], "enabled": "enabled" in form}
        body.update({name: typed[name] for name in ("client_secret",) if typed[name]})
        if kind is OAuthProviderKind.OIDC:
            body.update({name: typed[name] or None for name in ("issuer", "name")})
        state = app_state(request)
        try:
            await oauth_providers.put_provider(
                staff.org.id,
                kind,
                api_input(body, OAuthProviderPut),
                keyring=state.keyring,
                allow_local=state.settings.allow_local_oauth,
            )
        except DomainError as exc:
            settings = await get_portal_settings(staff.org.id)
            typed.pop("client_secret")
            return await portal_page(
                request,
                staff,
                settings,
                form_fields(settings),
                status=exc.status,
                error=exc.detail,
                typed={kind: typed},
            )
        return done(request, "/console/portal", f"Customers can now sign in with {PROVIDER_TITLES[kind]}.")

    @post("/sign-in/{provider:str}/remove", name="console-sign-in-remove", guards=[requires_admin])
    async def remove_sign_in(
        self, request: AnyRequest, staff: NamedDependency[Staff], provider: FromPath[str]
    ) -> Response[str]:
        kind = _provider_kind(provider)
        await oauth_providers.delete_provider(staff.org.id, kind)
        return done(request, "/console/portal", f"{PROVIDER_TITLES[kind]} sign-in removed.")

    @get("/theme", name="console-portal-theme", guards=[requires_viewer])
    async def theme(self, request: AnyRequest) -> Response[Any]:
        """The CSS variables the portal would use for the branding in the query (the preview's), or 422."""
        try:
            branding = api_input(
                {k: v for k, v in request.query_params.items() if k in (*BRANDING_FIELDS, "default_theme")},
                Branding,
            )
            check_branding(branding)
        except DomainError as exc:
            return Response({"detail": exc.detail}, status_code=422, headers={"cache-control": "no-store"})
        body = {"variables": css_variables(branding), "theme": branding.default_theme}
        return Response(body, headers={"cache-control": "no-store"})


def _provider_kind(value: str) -> OAuthProviderKind:
    try:
        return OAuthProviderKind(value)
    except ValueError as exc:
        raise NotFound(f"no sign-in provider {value!r}") from exc


async def sign_in_methods(request: AnyRequest, staff: Staff) -> list[dict[str, Any]]:
    """Each provider the portal can offer, with its settings (as the API returns them, so without the
    secret) when it is set up, and the callback URL to register with it."""
    public_url = app_state(request).settings.public_url
    rows = {row.provider: row for row in await oauth_providers.list_providers(staff.org.id)}
    methods = []
    for kind, title in PROVIDER_TITLES.items():
        callback = oauth_providers.callback_url(public_url, staff.org.slug, kind)
        row = rows.get(kind.value)
        out = None
        if row is not None:
            out = OAuthProviderOut.of(row, name=oauth_providers.display_name(row), callback_url=callback)
        methods.append({"kind": kind.value, "title": title, "row": out, "callback_url": callback})
    return methods


async def _preview_customer(org_id: Any) -> Any:
    """Whose portal the preview shows: the newest customer with an active subscription, else the newest."""
    row = await (
        Subscription.select(Subscription.customer)
        .where(Subscription.org == org_id, Subscription.status == SubscriptionStatus.ACTIVE)
        .order_by(Subscription.created_at, ascending=False)
        .first()
    )
    if row is not None:
        return row["customer"]
    newest = await (
        Customer.select(Customer.id)
        .where(Customer.org == org_id, Customer.deleted_at.is_null())
        .order_by(Customer.created_at, ascending=False)
        .first()
    )
    return newest["id"] if newest else None


async def portal_page(
    request: AnyRequest,
    staff: Staff,
    settings: PortalSettingsResource,
    fields: dict[str, Any],
    *,
    status: int = 200,
    snippet: dict[str, str] | None = None,
    offers: dict[str, Any] | None = None,
    **extra: Any,
) -> Response[str]:
    """The page, with ``fields`` in the settings form and ``offers`` in the retention form (as stored when
    not given: a refused form passes what was typed)."""
    public = app_state(request).settings
    plans, coupons = await retention.offer_choices(staff.org.id)
    customer_id = await _preview_customer(staff.org.id)
    preview = None
    if customer_id is not None:
        link = portal_link(
            staff.org.to_dict(),
            customer_id,
            secret=app_state(request).keyring.secret_keys[-1],
            public_url=public.public_url,
            ttl=PREVIEW_TTL,
            read_only=True,
            viewed_by=staff.email,
        )
        # in the merchant's default language, whichever language that customer chose
        query = urlencode(
            {
                "view": "overview",
                "origin": public.public_origin,
                "theme": settings.branding.default_theme,
                "locale": settings.default_locale,
            }
        )
        preview = f"/embed?{query}#token={link.token}"
    snippet = snippet or {
        "view": "overview",
        "theme": "auto",
        "origin": next(iter(settings.allowed_origins), ""),
    }
    return render_page(
        request,
        "console/portal.html",
        status=status,
        f=fields,
        sections=SECTIONS,
        reasons=[str(r) for r in CancellationReason],
        themes=THEMES,
        languages=i18n.language_choices(),
        refunds=REFUNDS,
        views=list(VIEWS),
        origins=settings.allowed_origins,
        preview=preview,
        snippet=snippet,
        portal_origin=public.public_origin,
        sign_in=await sign_in_methods(request, staff),
        offers=offers or retention_fields(await retention.get_settings(staff.org.id)),
        offer_kinds=OFFER_KINDS,
        plans=plans,
        coupons=coupons,
        **extra,
    )
