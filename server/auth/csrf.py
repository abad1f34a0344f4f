"""CSRF protection for cookie-authenticated requests (hosted portal).

A hosted session carries a random CSRF secret; the page receives it and sends it back on every write, in the
``x-csrf-token`` header (fetch) or a ``csrf_token`` form field (plain forms). A cross-site page cannot read
it, so it cannot forge a write that rides on the cookie. Bearer (embedded) sessions need none of this: they
have no ambient credential.

Forms that start a session (sign-in, opening a link) carry no session yet; ``check_same_origin`` refuses
them from other sites so nobody can sign a visitor into someone else's account (login CSRF).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from server.errors import Forbidden
from server.http.types import AnyRequest

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(Forbidden):
    """A cookie-authenticated write without the page's CSRF token, or a sign-in posted from another site."""

    code = "csrf"


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(32)


def check_csrf(request: AnyRequest, expected: str, form: Mapping[str, str] | None = None) -> None:
    """Refuse an unsafe request unless it carries ``expected`` (header, or ``form``'s field)."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER) or (form or {}).get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused("this request did not carry the page's security token; reload the page and retry")


def check_same_origin(request: AnyRequest, public_origin: str) -> None:
    """Refuse a form posted by another site.

    Browsers say where a POST comes from twice: ``Sec-Fetch-Site`` (Fetch Metadata, which page script cannot
    set) and ``Origin``. A page whose referrer policy is ``no-referrer`` posts ``Origin: null`` even to its
    own origin, and so does any request after a cross-origin redirect, so ``null`` passes only when Fetch
    Metadata vouches for it (``same-origin``). Hosted pages send ``Referrer-Policy: same-origin``
    (``hosted_headers``), so browsers without Fetch Metadata send the real origin too. A request with
    neither header (not a browser) cannot carry a victim's cookies into a login CSRF and passes.
    """
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    if origin == "null":
        trusted = site == "same-origin"
    else:
        trusted = origin in {None, public_origin} and site in {None, "same-origin", "none"}
    if not trusted:
        raise CsrfRefused("this form may only be sent from the billing portal itself")
