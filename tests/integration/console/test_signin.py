"""Console sign-in: staff get a magic link by email (the customers' machinery, a purpose of its own), open
it into a console session of its own cookie, and only that cookie opens the console."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta

from server.console.auth import issue_link
from server.console.staff import add_staff, remove_staff
from server.enums import StaffRole
from tests.integration.console.conftest import COOKIE, LINK, cookie_from, open_link
from tests.integration.mail.support import drain


async def test_an_emailed_link_opens_a_console_session_with_its_own_cookie(client, org, inbox, smtp_context):
    email = f"Owner-{uuid.uuid4().hex[:6]}@Team.example"
    await add_staff(org.org.id, email, StaffRole.OWNER)
    asked = await client.post("/console/login", data={"email": email})
    assert asked.status_code == 202
    assert "Check your email" in asked.text
    await drain(smtp_context)
    [message] = inbox.received_by(email.lower())
    assert message["subject"] == f"Your sign-in link for the {org.org.name} console"
    link = LINK.search(message.get_body(("plain",)).get_content())
    assert link
    assert link.group(1) == org.org.slug

    opened = await open_link(client, link.group(0))
    assert opened.status_code == 303
    assert opened.headers["location"] == "/console"
    cookie = next(h for h in opened.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    assert {"HttpOnly", "Secure", "Path=/console"} <= {part.strip() for part in cookie.split(";")}
    assert "samesite=lax" in cookie.lower()
    home = await client.get("/console", headers={"cookie": f"{COOKIE}={cookie_from(opened)}"})
    assert home.status_code == 200
    assert email.lower() in home.text


async def test_an_unknown_address_gets_the_same_page_and_no_email(client, org, inbox, smtp_context):
    address = f"nobody-{uuid.uuid4().hex[:6]}@team.example"
    asked = await client.post("/console/login", data={"email": address})
    assert asked.status_code == 202
    assert "Check your email" in asked.text
    await drain(smtp_context)
    assert inbox.received_by(address) == []


async def test_a_bad_address_is_a_friendly_422_page(client):
    asked = await client.post("/console/login", data={"email": "not an address"})
    assert asked.status_code == 422
    assert "Please enter a valid email address." in asked.text
    assert asked.headers["content-type"].startswith("text/html")


async def test_a_link_works_once(client, org, settings):
    email = f"s-{uuid.uuid4().hex[:6]}@team.example"
    await add_staff(org.org.id, email, StaffRole.VIEWER)
    link = await issue_link(org.org, email, settings.public_url)
    assert (await open_link(client, link)).status_code == 303
    again = await open_link(client, link)
    assert again.status_code == 410
    assert "This link has expired" in again.text
    assert COOKIE not in again.headers.get("set-cookie", "")


async def test_a_console_link_does_not_open_the_customer_portal_and_stays_usable(client, org, settings):
    email = f"s-{uuid.uuid4().hex[:6]}@team.example"
    await add_staff(org.org.id, email, StaffRole.OWNER)
    link = await issue_link(org.org, email, settings.public_url)
    secret = LINK.search(link).group(2)
    portal = await client.post(f"/portal/{org.org.slug}/session", data={"token": secret})
    assert portal.status_code == 410
    assert "ss_session" not in portal.headers.get("set-cookie", "")
    assert (await open_link(client, link)).status_code == 303


async def test_a_link_of_someone_who_left_the_team_opens_nothing(client, org, settings, staff_as):
    owner = await staff_as(StaffRole.OWNER)
    email = f"s-{uuid.uuid4().hex[:6]}@team.example"
    member = await add_staff(org.org.id, email, StaffRole.ADMIN)
    link = await issue_link(org.org, email, settings.public_url)
    await remove_staff(org.org.id, member.id, by=owner.member_id)
    assert (await open_link(client, link)).status_code == 410


async def test_removing_someone_ends_their_session_at_once(org, staff_as):
    owner = await staff_as(StaffRole.OWNER)
    viewer = await staff_as(StaffRole.VIEWER)
    assert (await viewer.get("/console")).status_code == 200
    page = await owner.get("/console/team")
    assert viewer.email in page.text
    removed = await owner.post(f"/console/team/{viewer.member_id}/remove")
    assert removed.status_code == 200
    assert f"{viewer.email} can no longer sign in." in removed.text
    after = await viewer.get("/console")
    assert after.status_code == 303
    assert after.headers["location"] == "/console/login"


async def test_a_session_ends_after_twelve_idle_hours(staff_as, frozen):
    viewer = await staff_as(StaffRole.VIEWER)
    frozen.advance(timedelta(hours=11, minutes=59))
    assert (await viewer.get("/console")).status_code == 200
    frozen.advance(timedelta(hours=11, minutes=59))
    assert (await viewer.get("/console")).status_code == 200
    frozen.advance(timedelta(hours=12, seconds=1))
    assert (await viewer.get("/console")).status_code == 303


async def test_signing_out_ends_the_session_server_side(staff_as):
    viewer = await staff_as(StaffRole.VIEWER)
    out = await viewer.post("/console/logout")
    assert out.status_code == 303
    assert out.headers["location"] == "/console/login"
    assert (await viewer.get("/console")).status_code == 303


async def test_the_portal_cookie_does_not_open_the_console_nor_the_console_cookie_the_portal(
    client, org, staff_as
):
    viewer = await staff_as(StaffRole.VIEWER)
    as_portal_cookie = {"cookie": f"ss_session={viewer.cookie}"}
    assert (await client.get("/console", headers=as_portal_cookie)).status_code == 303
    portal = await client.get(f"/portal/{org.org.slug}", headers=as_portal_cookie)
    assert "Email me a sign-in link" in portal.text


async def test_link_requests_are_limited_per_address(client, org):
    address = f"flood-{uuid.uuid4().hex[:6]}@team.example"
    statuses = [(await client.post("/console/login", data={"email": address})).status_code for _ in range(7)]
    assert statuses == [202] * 6 + [429]


async def test_a_sign_in_posted_from_another_site_is_refused(client, org, settings):
    email = f"s-{uuid.uuid4().hex[:6]}@team.example"
    await add_staff(org.org.id, email, StaffRole.OWNER)
    link = await issue_link(org.org, email, settings.public_url)
    found = LINK.search(link)
    refused = await client.post(
        "/console/session",
        data={"org": found.group(1), "token": found.group(2)},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert (await open_link(client, link)).status_code == 303


async def test_staff_add_on_the_command_line_prints_a_link_that_signs_in(client, org, settings):
    email = f"cli-{uuid.uuid4().hex[:6]}@team.example"
    env = {
        **os.environ,
        "SELFSERVE_DATABASE_URL": settings.database_url,
        "SELFSERVE_SECRET_KEYS": ",".join(settings.secret_keys),
    }
    args = ["staff", "add", "--org", org.org.slug, "--email", email, "--role", "Owner"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out
    assert f"{email} is now owner of" in out.decode()
    opened = await open_link(client, out.decode())
    assert opened.status_code == 303
    home = await client.get("/console", headers={"cookie": f"{COOKIE}={cookie_from(opened)}"})
    assert email in home.text


async def test_the_sign_in_page_of_an_emailed_link_carries_its_merchant(client, org):
    page = await client.get(f"/console/login?org={org.org.slug}")
    assert page.status_code == 200
    assert f'<input type="hidden" name="org" value="{org.org.slug}">' in page.text
    assert "Email me a sign-in link" in page.text
