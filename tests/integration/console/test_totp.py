"""The optional second factor: staff who turn it on (QR code, confirmed by a code) are asked for their
authenticator code after the emailed link; a wrong code, a replayed ticket or a flood of guesses opens
nothing."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pyotp

from server.console.auth import issue_link
from server.console.staff import add_staff
from server.enums import StaffRole
from tests.integration.console.conftest import COOKIE, cookie_from, open_link

TICKET = re.compile(r'name="ticket" value="([^"]+)"')


async def _turn_on(member) -> str:
    started = await member.post("/console/account/totp/start")
    assert started.status_code == 200
    assert 'src="data:image/svg+xml' in started.text
    secret = re.search(r'<code id="sc-totp-key">([A-Z2-7]+)</code>', started.text).group(1)
    setup = re.search(r'name="setup" value="([^"]+)"', started.text).group(1)
    wrong = await member.post("/console/account/totp/confirm", {"setup": setup, "code": "000000"})
    assert wrong.status_code == 422
    confirmed = await member.post(
        "/console/account/totp/confirm", {"setup": setup, "code": pyotp.TOTP(secret).now()}
    )
    assert "Sign-ins now ask for a code from your app." in confirmed.text
    return secret


async def test_after_turning_it_on_a_link_asks_for_the_code_and_only_the_right_one_signs_in(
    client, org, settings, staff_as
):
    member = await staff_as(StaffRole.VIEWER)
    secret = await _turn_on(member)
    asked = await open_link(client, await issue_link(org.org, member.email, settings.public_url))
    assert asked.status_code == 200
    assert "Enter your authenticator code" in asked.text
    assert COOKIE not in asked.headers.get("set-cookie", "")
    ticket = TICKET.search(asked.text).group(1)
    wrong = await client.post("/console/code", data={"ticket": ticket, "code": "123456"})
    assert wrong.status_code == 422
    assert "That code does not match." in wrong.text
    right = await client.post("/console/code", data={"ticket": ticket, "code": pyotp.TOTP(secret).now()})
    assert right.status_code == 303
    home = await client.get("/console", headers={"cookie": f"{COOKIE}={cookie_from(right)}"})
    assert member.email in home.text
    replayed = await client.post("/console/code", data={"ticket": ticket, "code": pyotp.TOTP(secret).now()})
    assert replayed.status_code == 410


async def test_a_forged_or_expired_ticket_opens_nothing(client, org, settings, staff_as, frozen):
    member = await staff_as(StaffRole.VIEWER)
    secret = await _turn_on(member)
    forged = await client.post("/console/code", data={"ticket": "x.y", "code": pyotp.TOTP(secret).now()})
    assert forged.status_code == 410
    asked = await open_link(client, await issue_link(org.org, member.email, settings.public_url))
    ticket = TICKET.search(asked.text).group(1)
    frozen.advance(timedelta(minutes=5, seconds=1))
    code = pyotp.TOTP(secret).at(frozen.now())
    assert (await client.post("/console/code", data={"ticket": ticket, "code": code})).status_code == 410


async def test_guessing_codes_is_limited(client, org, settings, staff_as):
    member = await staff_as(StaffRole.VIEWER)
    await _turn_on(member)
    asked = await open_link(client, await issue_link(org.org, member.email, settings.public_url))
    ticket = TICKET.search(asked.text).group(1)
    statuses = [
        (await client.post("/console/code", data={"ticket": ticket, "code": f"{n:06d}"})).status_code
        for n in range(7)
    ]
    assert statuses == [422] * 6 + [429]


async def test_turning_it_off_needs_a_code_and_then_the_link_alone_signs_in(client, org, settings, staff_as):
    member = await staff_as(StaffRole.SUPPORT)
    secret = await _turn_on(member)
    assert (await member.post("/console/account/totp/off", {"code": "000000"})).status_code == 422
    off = await member.post("/console/account/totp/off", {"code": pyotp.TOTP(secret).now()})
    assert "Sign-ins no longer ask for a code." in off.text
    assert (
        await open_link(client, await issue_link(org.org, member.email, settings.public_url))
    ).status_code == 303


async def test_staff_without_it_sign_in_with_the_link_alone(client, org, settings):
    email = f"plain-{uuid.uuid4().hex[:6]}@team.example"
    await add_staff(org.org.id, email, StaffRole.VIEWER)
    assert (await open_link(client, await issue_link(org.org, email, settings.public_url))).status_code == 303
