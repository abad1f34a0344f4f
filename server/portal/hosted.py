"""The hosted portal: ``/portal/{slug}``, a first-party page with the same widgets. Until the magic-link login
arrives it opens from ``customer_portal_url`` (the token rides in the fragment)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery

from server import i18n
from server.db.tables import Organization
from server.portal.rendering import render
from server.security.headers import hosted_headers, new_nonce
from server.settings import Settings
from widgets import VIEWS


@get("/portal/{slug:str}", name="hosted-portal", include_in_schema=False)
async def hosted_portal(
    request: Request[Any, Any, Any],
    slug: FromPath[str],
    view: FromQuery[str] = "overview",
    locale: FromQuery[str] = "",
) -> Response[str]:
    org = await Organization.objects().where(Organization.slug == slug).first()
    settings: Settings = request.app.state.settings
    language = i18n.negotiate(locale, request.headers.get("accept-language", "").split(",")[0])
    nonce = new_nonce()
    context = {
        "nonce": nonce,
        "view": view if view in VIEWS else "overview",
        "origin": settings.public_origin,
        "theme": "auto",
        "locale": language,
        "dir": i18n.text_direction(language),
        "instance": "",
        "query": "",
        "hosted": True,
        "org_name": org.name if org else "",
    }
    with i18n.use_locale(language):
        if org is None:
            return render(
                request, "portal/unknown_org.html", context, status=404, headers=hosted_headers(nonce)
            )
        return render(request, "portal/shell.html", context, headers=hosted_headers(nonce))
