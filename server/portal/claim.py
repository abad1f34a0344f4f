"""Claiming a seat from an invitation email: the link's fragment carries the token (kept out of logs); a
small script copies it into the form, and accepting is a POST, so link scanners never use it up."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath, URLEncodedBody

from server import i18n
from server.db.tables import Subscription
from server.errors import NotFound
from server.http.types import AnyRequest
from server.organizations.service import find_organization_by_slug
from server.portal.hosted import hosted_language
from server.portal.rendering import render
from server.security.headers import hosted_headers, new_nonce
from server.security.ratelimit import count_failed_lookup, refuse_while_failing
from server.subscriptions.seats import claim_seat


async def _page(
    request: AnyRequest, slug: str, template: str, status: int = 200, **extra: Any
) -> Response[str]:
    org = await find_organization_by_slug(slug)
    language = hosted_language(request, org)
    nonce = new_nonce()
    context = {"nonce": nonce, "locale": language, "dir": i18n.text_direction(language), "org": org, **extra}
    with i18n.use_locale(language):
        return render(
            request, template, context, status=status if org else 404, headers=hosted_headers(nonce)
        )


@get("/portal/{slug:str}/claim", name="seat-claim-page", include_in_schema=False)
async def claim_page(request: AnyRequest, slug: FromPath[str]) -> Response[str]:
    return await _page(request, slug, "portal/claim.html", state="ask")


@post("/portal/{slug:str}/claim", name="seat-claim", include_in_schema=False, status_code=200)
async def claim(
    request: AnyRequest, slug: FromPath[str], data: URLEncodedBody[dict[str, str]]
) -> Response[str]:
    org = await find_organization_by_slug(slug)
    if org is None:
        return await _page(request, slug, "portal/claim.html", state="invalid")
    await refuse_while_failing(request)
    try:
        seat = await claim_seat(org.id, data.get("token", ""))
    except NotFound:
        await count_failed_lookup(request)
        return await _page(request, slug, "portal/claim.html", status=410, state="invalid")
    row = (
        await Subscription.select(Subscription.product.name)
        .where(Subscription.id == seat.subscription)
        .first()
    )
    return await _page(
        request,
        slug,
        "portal/claim.html",
        state="claimed",
        email=seat.email,
        product=row["product.name"] if row else "",
    )
