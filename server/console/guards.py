"""Litestar guards of the console. ``signed_in`` sits on the console router, so no console page or form can
skip it: it finds the staff session in the ``ss_console`` cookie and refuses an unsafe request without the
page's CSRF token or from another site. Each route then names the role it needs with one of the
``requires_*`` guards (a test checks that every console route does)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from server.activity import acting_by
from server.auth.csrf import SAFE_METHODS, check_csrf, check_same_origin
from server.console.auth import COOKIE, SignInNeeded, Staff, find_staff
from server.console.staff import may
from server.enums import StaffRole
from server.errors import Forbidden
from server.state import app_state

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]
ROLE_OPT = "console_role"


class RoleRefused(Forbidden):
    """The staff member's role does not cover this page or action."""

    code = "role_refused"


def staff_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff:
    """The staff member ``signed_in`` found for this request."""
    staff: Staff = connection.state["staff"]
    return staff


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    secret = connection.cookies.get(COOKIE)
    if not secret:
        raise SignInNeeded("sign in to the console first")
    staff = await find_staff(secret)
    if isinstance(connection, Request) and connection.method not in SAFE_METHODS:
        check_same_origin(connection, app_state(connection).settings.public_origin)
        form = await connection.form() if "form" in connection.content_type[0] else {}
        check_csrf(connection, staff.csrf_token, {k: str(v) for k, v in form.items()})
    connection.state["staff"] = staff
    acting_by(staff_id=staff.member_id)


def requires(role: StaffRole) -> Guard:
    """A guard that lets through staff whose role covers ``role``."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        staff = staff_of(connection)
        if not may(staff.role, role):
            raise RoleRefused(f"this needs the {role.value} role or higher; you are {staff.role.value}")

    guard.__name__ = f"requires_{role.value}"
    setattr(guard, ROLE_OPT, role)
    return guard


requires_viewer = requires(StaffRole.VIEWER)
requires_support = requires(StaffRole.SUPPORT)
requires_admin = requires(StaffRole.ADMIN)
requires_owner = requires(StaffRole.OWNER)
