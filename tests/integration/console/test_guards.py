"""Every console route is guarded: a session, a role that covers it, the page's CSRF token on writes, a
friendly page (never problem+json) when refused, and never framable."""

from __future__ import annotations

import re

import pytest

from server.console.guards import ROLE_OPT, signed_in
from server.console.staff import add_staff
from server.enums import StaffRole
from server.errors import Conflict, Invalid

PUBLIC = {"/console/login", "/console/session", "/console/code"}
OWN_ACCOUNT = ("/console/logout", "/console/account/")
"""Writes anyone signed in makes about themselves (signing out, their second factor)."""


def console_routes(app):
    for route in app.routes:
        if route.path.startswith("/console"):
            for handler in route.route_handlers:
                if handler.http_methods != {"OPTIONS"}:  # Litestar's own, answered before any handler
                    yield route.path, handler


def test_every_console_route_but_sign_in_is_signed_in_and_names_its_role(app):
    checked = 0
    for path, handler in console_routes(app):
        guards = handler.resolve_guards()
        if path in PUBLIC:
            assert guards == [], path
            continue
        roles = [getattr(g, ROLE_OPT) for g in handler.guards or [] if hasattr(g, ROLE_OPT)]
        assert guards[0] is signed_in, path
        assert len(roles) == 1, f"{path} ({handler.handler_name}) names {len(roles)} roles"
        writes = handler.http_methods - {"GET", "HEAD", "OPTIONS"}
        if writes and not path.startswith(OWN_ACCOUNT):
            assert roles[0] is not StaffRole.VIEWER, f"a viewer may {writes} {path}"
        checked += 1
    assert checked >= 4


async def test_signed_out_a_page_leads_to_sign_in_and_a_form_is_a_401_page(client):
    page = await client.get("/console/team")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login"
    form = await client.post("/console/team", data={"email": "x@example.com", "role": "owner"})
    assert form.status_code == 401
    assert form.headers["content-type"].startswith("text/html")
    assert "Sign in" in form.text


@pytest.mark.parametrize("role", [StaffRole.VIEWER, StaffRole.SUPPORT, StaffRole.ADMIN])
async def test_only_an_owner_sees_and_may_use_add_to_the_team(staff_as, role):
    member = await staff_as(role)
    page = await member.get("/console/team")
    assert page.status_code == 200
    assert member.email in page.text
    assert "Add to the team" not in page.text
    assert ">Remove<" not in page.text
    refused = await member.post("/console/team", {"email": "new@team.example", "role": "owner"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert f"you are {role.value}" in refused.text
    assert "new@team.example" not in (await member.get("/console/team")).text


async def test_an_owner_adds_someone_and_bad_input_is_a_friendly_page(staff_as):
    owner = await staff_as(StaffRole.OWNER)
    page = await owner.get("/console/team")
    assert "Add to the team" in page.text
    added = await owner.post("/console/team", {"email": "New@Team.example", "role": "support", "name": "Nia"})
    assert added.status_code == 200
    assert "new@team.example can now sign in as support." in added.text
    twice = await owner.post("/console/team", {"email": "new@team.example", "role": "viewer"})
    assert twice.status_code == 409
    assert "is on the team already" in twice.text
    bad = await owner.post("/console/team", {"email": "x@team.example", "role": "emperor"})
    assert bad.status_code == 422
    assert "role must be one of viewer, support, admin, owner" in bad.text
    assert 'value="x@team.example"' in bad.text


async def test_a_write_without_the_pages_csrf_token_or_from_another_site_is_refused(staff_as):
    owner = await staff_as(StaffRole.OWNER)
    missing = await owner.post(
        "/console/team", {"email": "refused-one@elsewhere.example", "role": "viewer"}, csrf=False
    )
    assert missing.status_code == 403
    assert "security token" in missing.text
    foreign = await owner.post(
        "/console/team",
        {"email": "refused-two@elsewhere.example", "role": "viewer"},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )
    assert foreign.status_code == 403
    page = (await owner.get("/console/team")).text
    assert "refused-one@elsewhere.example" not in page
    assert "refused-two@elsewhere.example" not in page


async def test_console_pages_are_never_framable_and_scripts_need_the_nonce(client, staff_as):
    owner = await staff_as(StaffRole.OWNER)
    for response in (
        await client.get("/console/login"),
        await owner.get("/console"),
        await owner.get("/console/team"),
    ):
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        nonce = re.search(r"script-src 'nonce-([\w-]+)'", policy).group(1)
        assert f'<script nonce="{nonce}" src="/static/console.js">' in response.text
        assert "unsafe-inline" not in policy


async def test_the_staff_service_refuses_bad_roles_names_and_duplicates(org):
    await add_staff(org.org.id, "dup@team.example", StaffRole.ADMIN)
    with pytest.raises(Conflict):
        await add_staff(org.org.id, "DUP@team.example", "viewer")
    with pytest.raises(Invalid):
        await add_staff(org.org.id, "x@team.example", "root")
    with pytest.raises(Invalid):
        await add_staff(org.org.id, "y@team.example", "viewer", name="two\nlines")
    with pytest.raises(Invalid):
        await add_staff(org.org.id, "not-an-email", "viewer")
