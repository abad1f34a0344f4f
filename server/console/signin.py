"""The console's sign-in pages, the only console routes without a session:

- ``GET /console/login`` asks for an email; opened from an emailed link, its script posts the link's secret
  (from the fragment) to ``POST /console/session``.
- ``POST /console/login`` emails a link per team the address is on: the same page whether or not it is on
  any; the portal's limits (6/min, 12/h per email and per IP, then 15 minutes blocked).
- ``POST /console/session`` turns a link into a session cookie, or shows a friendly page to ask for a new one;
  for staff who turned on a second factor it asks for their authenticator code first (``POST /console/code``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Response, get, post
from litestar.params import QueryParameter, URLEncodedBody

from server.auth.csrf import check_same_origin
from server.auth.magic_links import LinkRefused, normalize_email, throttle_login
from server.console import totp
from server.console.auth import COOKIE, end_session, open_session, request_links, session_cookie, use_link
from server.console.pages import render_page
from server.console.staff import get_staff
from server.db.tables import Organization, StaffMember
from server.errors import Invalid
from server.http.types import AnyRequest
from server.organizations.service import find_organization_by_slug
from server.settings import Settings
from server.state import app_state

Form = URLEncodedBody[dict[str, str]]


def _login(request: AnyRequest, state: str, *, status: int = 200, **extra: Any) -> Response[str]:
    return render_page(request, "console/login.html", status=status, state=state, **extra)


@get("/console/login", name="console-login", include_in_schema=False)
async def login_page(
    request: AnyRequest, org_slug: Annotated[str, QueryParameter(name="org")] = ""
) -> Response[str]:
    return _login(request, "ask", org_slug=org_slug)


@post("/console/login", name="console-request-link", include_in_schema=False, status_code=202)
async def request_link(request: AnyRequest, data: Form) -> Response[str]:
    settings: Settings = app_state(request).settings
    check_same_origin(request, settings.public_origin)
    typed = data.get("email", "").strip()[:320]
    try:
        email = normalize_email(typed)
    except Invalid:
        return _login(request, "ask", status=422, email=typed, error="Please enter a valid email address.")
    client = request.client.host if request.client else "unknown"
    limiter = app_state(request).rate_limiter
    wait = await throttle_login(limiter, [f"console:email:{email}", f"console:ip:{client}"])
    if wait is not None:
        error = "Too many sign-in requests. Please wait 15 minutes and try again."
        return _login(
            request, "ask", status=429, email=email, error=error, headers={"retry-after": str(wait)}
        )
    await request_links(email, keyring=app_state(request).keyring, public_url=settings.public_url)
    return _login(request, "sent", status=202, email=email)


@post("/console/session", name="console-open-session", include_in_schema=False, status_code=303)
async def open_console(request: AnyRequest, data: Form) -> Response[str]:
    settings: Settings = app_state(request).settings
    check_same_origin(request, settings.public_origin)
    org = await find_organization_by_slug(data.get("org", ""))
    try:
        if org is None:
            raise LinkRefused("this link is not valid")
        member, link = await use_link(org, data.get("token", "").strip())
    except LinkRefused as exc:
        return _login(request, "expired", status=410, email=exc.email or "")
    if member.totp_secret_encrypted is not None:
        return _login(
            request, "code", ticket=totp.issue_ticket(app_state(request).keyring, org.id, member.id, link.id)
        )
    return await _signed_in(request, org, member)


@post("/console/code", name="console-second-factor", include_in_schema=False, status_code=303)
async def second_factor(request: AnyRequest, data: Form) -> Response[str]:
    """The authenticator code of a staff member who turned it on, after their link."""
    state = app_state(request)
    check_same_origin(request, state.settings.public_origin)
    ticket = totp.read_ticket(state.keyring, data.get("ticket", ""))
    org = member = None
    if ticket is not None:
        org = await Organization.objects().where(Organization.id == UUID(ticket.org)).first()
        member = await get_staff(UUID(ticket.org), UUID(ticket.member)) if org else None
    if ticket is None or org is None or member is None or member.totp_secret_encrypted is None:
        return _login(request, "expired", status=410)
    wait = await throttle_login(state.rate_limiter, [f"console:code:{member.id}"])
    if wait is not None:
        error = "Too many codes tried. Please wait 15 minutes and sign in again."
        return _login(
            request,
            "code",
            status=429,
            ticket=data["ticket"],
            error=error,
            headers={"retry-after": str(wait)},
        )
    if not totp.code_matches(state.keyring.box.decrypt(member.totp_secret_encrypted), data.get("code", "")):
        error = "That code does not match. Type the newest code your app shows."
        return _login(request, "code", status=422, ticket=data["ticket"], error=error)
    if not await state.replay_store.burn(f"console-code:{ticket.link}", org.id, ticket.expires_at):
        return _login(request, "expired", status=410)
    return await _signed_in(request, org, member)


async def _signed_in(request: AnyRequest, org: Organization, member: StaffMember) -> Response[str]:
    secret, _ = await open_session(org, member)
    previous = request.cookies.get(COOKIE)
    if previous:
        await end_session(previous)
    return Response(
        "",
        status_code=303,
        headers={"location": "/console", "cache-control": "no-store"},
        cookies=[session_cookie(secret)],
    )
