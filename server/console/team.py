"""The team page (owners add and remove staff), your account (the optional authenticator second factor) and
signing out."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody

from server.console import totp
from server.console.auth import COOKIE, Staff, cleared_cookie, end_session
from server.console.guards import requires_owner, requires_viewer
from server.console.pages import done, render_page, see_other
from server.console.staff import add_staff, list_staff, remove_staff
from server.enums import StaffRole
from server.errors import DomainError
from server.http.types import AnyRequest
from server.state import app_state

Form = URLEncodedBody[dict[str, str]]


class TeamController(Controller):
    path = "/"

    @post("/logout", name="console-logout", guards=[requires_viewer], status_code=303)
    async def logout(self, request: AnyRequest) -> Response[str]:
        await end_session(request.cookies[COOKIE])
        response = see_other("/console/login")
        response.cookies.append(cleared_cookie())
        return response

    @get("/team", name="console-team", guards=[requires_viewer])
    async def team(self, request: AnyRequest, staff: NamedDependency[Staff]) -> Response[str]:
        return await _team_page(request, staff)

    @post("/team", name="console-team-add", guards=[requires_owner])
    async def add(self, request: AnyRequest, staff: NamedDependency[Staff], data: Form) -> Response[str]:
        try:
            member = await add_staff(
                staff.org.id, data.get("email", ""), data.get("role", ""), name=data.get("name", "")
            )
        except DomainError as exc:
            return await _team_page(request, staff, status=exc.status, error=exc.detail, form=data)
        return done(request, "/console/team", f"{member.email} can now sign in as {member.role}.")

    @post("/team/{member_id:uuid}/remove", name="console-team-remove", guards=[requires_owner])
    async def remove(
        self, request: AnyRequest, staff: NamedDependency[Staff], member_id: FromPath[UUID]
    ) -> Response[str]:
        try:
            member = await remove_staff(staff.org.id, member_id, by=staff.member_id)
        except DomainError as exc:
            return await _team_page(request, staff, status=exc.status, error=exc.detail)
        return done(request, "/console/team", f"{member.email} can no longer sign in.")

    @get("/account", name="console-account", guards=[requires_viewer])
    async def account(self, request: AnyRequest) -> Response[str]:
        return render_page(request, "console/account.html")

    @post("/account/totp/start", name="console-totp-start", guards=[requires_viewer])
    async def start_totp(self, request: AnyRequest, staff: NamedDependency[Staff]) -> Response[str]:
        """A new secret for the staff member's authenticator app, shown as a QR code until confirmed."""
        return _setup_page(request, staff, totp.new_secret())

    @post("/account/totp/confirm", name="console-totp-confirm", guards=[requires_viewer])
    async def confirm_totp(
        self, request: AnyRequest, staff: NamedDependency[Staff], data: Form
    ) -> Response[str]:
        keyring = app_state(request).keyring
        secret = totp.read_setup(keyring, staff.member_id, data.get("setup", ""))
        try:
            await totp.turn_on(keyring, staff.member_id, secret, data.get("code", ""))
        except DomainError as exc:
            return _setup_page(request, staff, secret, status=exc.status, error=exc.detail)
        return done(request, "/console/account", "Sign-ins now ask for a code from your app.")

    @post("/account/totp/off", name="console-totp-off", guards=[requires_viewer])
    async def totp_off(self, request: AnyRequest, staff: NamedDependency[Staff], data: Form) -> Response[str]:
        try:
            await totp.turn_off(app_state(request).keyring, staff.member, data.get("code", ""))
        except DomainError as exc:
            return render_page(request, "console/account.html", status=exc.status, error=exc.detail)
        return done(request, "/console/account", "Sign-ins no longer ask for a code.")


def _setup_page(
    request: AnyRequest, staff: Staff, secret: str, *, status: int = 200, **extra: Any
) -> Response[str]:
    uri = totp.setup_uri(secret, staff.email, staff.org.name)
    return render_page(
        request,
        "console/account.html",
        status=status,
        setup=totp.sign_setup(app_state(request).keyring, staff.member_id, secret),
        secret=secret,
        qr=totp.qr_code(uri),
        **extra,
    )


async def _team_page(request: AnyRequest, staff: Staff, *, status: int = 200, **extra: Any) -> Response[str]:
    return render_page(
        request,
        "console/team.html",
        status=status,
        members=await list_staff(staff.org.id),
        roles=list(StaffRole),
        **extra,
    )
