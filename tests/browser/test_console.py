"""The merchant console in Chromium, as the demo's staff use it: signed in by the emailed link, changing the
brand (preview, then the embedded portal), allowing an origin and embedding from it, API keys, redelivering a
failed webhook, sending a customer a portal link, setting up a sign-in provider that the portal then offers,
retention offers per cancellation reason, the activity those writes leave, a viewer who cannot write, and
axe-core on every page."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import expect
from standardwebhooks import Webhook

from server.auth.api_keys import display_prefix
from tests.browser.support import (
    ADA,
    DEMO_OWNER,
    SETTLE_SECONDS,
    emails_to,
    frame_of,
    link_in,
    merchant_api,
    mount_script,
    open_portal,
    sign_in_console,
    wait_event,
)

BLOCKING = ("serious", "critical")
PAGES = (
    "/console",
    "/console/customers",
    "/console/portal",
    "/console/developers",
    "/console/analytics",
    "/console/team",
    "/console/account",
)
DEMO_BRAND = "#0f766e"


@pytest.fixture(scope="module")
async def owner(browser, stack) -> AsyncIterator[Any]:
    """A browser context of the demo owner, signed in once by the emailed link."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await sign_in_console(page, stack)
    await page.close()
    yield context
    await context.close()


@pytest.fixture
async def console(owner) -> AsyncIterator[Any]:
    page = await owner.new_page()
    yield page
    await page.close()


async def css_variable(frame: Any, name: str) -> str:
    value: str = await frame.evaluate(
        "(name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()", name
    )
    return value


async def until(check: Any) -> Any:
    """``check()`` once it is truthy (it is retried for a few seconds)."""
    for _ in range(int(SETTLE_SECONDS / 0.1)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("never happened")


async def save_portal_field(page: Any, stack: Any, label: str, value: str) -> None:
    await page.goto(f"{stack.portal_url}/console/portal")
    await page.get_by_label(label).fill(value)
    await page.get_by_role("button", name="Save portal settings").click()
    await page.get_by_text("Portal settings saved.").wait_for()


async def test_the_demo_owner_signs_in_and_sees_the_home_figures(console, stack):
    await console.goto(f"{stack.portal_url}/console")
    await console.get_by_role("heading", level=1, name="Acme").wait_for()
    assert await console.get_by_text("Monthly recurring revenue").is_visible()
    assert DEMO_OWNER in await console.locator(".sc-who").inner_text()


async def test_a_brand_colour_changes_the_preview_as_typed_then_the_embedded_portal(console, stack, host):
    await console.goto(f"{stack.portal_url}/console/portal")
    preview = await frame_of(console, "#sc-preview")
    await preview.get_by_role("heading", level=1, name="Overview").wait_for()
    assert await css_variable(preview, "--ss-primary") == DEMO_BRAND
    try:
        await console.get_by_label("Brand colour").fill("#9d174d")

        async def previewed() -> bool:
            return await css_variable(preview, "--ss-primary") == "#9d174d"

        await until(previewed)
        assert await css_variable(preview, "--ss-on-primary") == "#ffffff"
        await console.get_by_role("button", name="Save portal settings").click()
        await console.get_by_text("Portal settings saved.").wait_for()

        host_page = await console.context.new_page()
        frame = await open_portal(host_page, host, ADA)
        assert await css_variable(frame, "--ss-primary") == "#9d174d"
        await host_page.close()
        async with merchant_api(stack) as api:
            assert (await api.get("/v1/portal-settings")).json()["branding"]["primary_color"] == "#9d174d"
            [latest] = (await api.get("/v1/activity", params={"limit": 1})).json()["items"]
        assert (latest["name"], latest["staff"]) == ("portal_settings.updated", DEMO_OWNER)
    finally:
        await save_portal_field(console, stack, "Brand colour", DEMO_BRAND)


async def test_an_origin_added_in_the_console_may_embed_the_portal(console, stack, host):
    await console.goto(f"{stack.portal_url}/console/portal")
    origins = console.get_by_label("Allowed origins, one per line")
    before = await origins.input_value()
    assert host.refused not in before
    try:
        await origins.fill(before + "\n" + host.refused)
        await console.get_by_role("button", name="Save portal settings").click()
        await console.get_by_text("Portal settings saved.").wait_for()
        page = await console.context.new_page()
        await page.goto(host.page(mount_script(ADA), origin=host.refused))
        await wait_event(page, "ready")
        frame = await frame_of(page)
        await frame.get_by_role("heading", level=1, name="Overview").wait_for()
        await page.close()
        async with merchant_api(stack) as api:
            assert host.refused in (await api.get("/v1/portal-settings")).json()["allowed_origins"]
    finally:
        await save_portal_field(console, stack, "Allowed origins, one per line", before)


async def test_an_api_key_is_shown_once_works_and_is_revoked(console, stack):
    await console.goto(f"{stack.portal_url}/console/developers")
    await console.get_by_label("New key's name (optional)").fill("journey key")
    await console.get_by_role("button", name="Create API key").click()
    key = (await console.locator("#sc-secret").inner_text()).strip()
    assert key.startswith("ss_sk_")
    async with httpx.AsyncClient(
        base_url=stack.portal_url, headers={"Authorization": f"Bearer {key}"}
    ) as api:
        assert (await api.get("/v1/organization")).status_code == 200
        await console.goto(f"{stack.portal_url}/console/developers")
        assert key not in await console.content()
        await console.get_by_role("button", name=f"Revoke {display_prefix(key)}").click()
        await console.get_by_text("revoked.").wait_for()
        await console.reload()  # the form is not sent again and the message is not shown again
        assert await console.get_by_text("revoked.").count() == 0
        assert (await api.get("/v1/organization")).status_code == 401
    await console.goto(f"{stack.portal_url}/console")
    activity = console.locator(".sc-activity")
    created = activity.locator("li").filter(has_text=f"created API key {display_prefix(key)}")
    revoked = activity.locator("li").filter(has_text=f"revoked API key {display_prefix(key)}")
    assert DEMO_OWNER in await created.first.inner_text()
    assert DEMO_OWNER in await revoked.first.inner_text()
    async with merchant_api(stack) as api:
        entries = (await api.get("/v1/activity")).json()["items"]
    assert [(e["name"], e["staff"]) for e in entries[:2]] == [
        ("api_key.revoked", DEMO_OWNER),
        ("api_key.created", DEMO_OWNER),
    ]


async def test_a_failed_webhook_is_redelivered_from_the_log(console, stack, host):
    host.down.add("console")
    url = f"http://127.0.0.1:{host.port}/receiver/console"
    await console.goto(f"{stack.portal_url}/console/developers")
    await console.get_by_text("Add an endpoint").click()
    await console.get_by_label("URL").fill(url)
    await console.get_by_label("Description (optional)").fill("journey receiver")
    await console.get_by_role("button", name="Add endpoint").click()
    secret = (await console.locator("#sc-secret").inner_text()).strip()
    await console.get_by_role("button", name=f"Send a test event to {url}").click()
    await console.get_by_text("webhook_endpoint.test event is on its way").wait_for()
    delivery = console.locator(".sc-log > li").filter(has_text=url).first

    async def failed() -> bool:
        await console.goto(f"{stack.portal_url}/console/developers")
        return "response 503" in await delivery.inner_text()

    await until(failed)
    host.down.discard("console")
    await delivery.get_by_role("button", name=re.compile("^Redeliver")).click()
    await console.get_by_text("is being sent again.").wait_for()

    async def succeeded() -> bool:
        await console.goto(f"{stack.portal_url}/console/developers")
        return "succeeded" in await delivery.inner_text()

    await until(succeeded)
    assert "response 204" in await delivery.inner_text()
    [(headers, body)] = host.receivers["console"]
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "webhook_endpoint.test"


async def test_support_finds_a_customer_and_sends_a_portal_link(console, stack):
    before = len(stack.mail.received_by(ADA))
    await console.goto(f"{stack.portal_url}/console/customers")
    await console.get_by_label("Search by email, name, company or external id").fill("ADA@analytical")
    await console.get_by_role("button", name="Search").click()
    await console.get_by_role("link", name=ADA).click()
    await console.get_by_role("heading", level=1).wait_for()
    customer_url = console.url
    await console.get_by_role("button", name="Send portal link").click()
    await console.get_by_text(f"A sign-in link to the portal is on its way to {ADA}.").wait_for()
    received = await emails_to(stack, ADA, before + 1)
    link = link_in(received[-1])
    customer_page = await console.context.new_page()
    await customer_page.goto(link)
    await customer_page.get_by_role("heading", level=1, name="Overview").wait_for()
    await customer_page.close()
    await console.goto(customer_url)
    assert f"by {DEMO_OWNER}" in await console.locator(".sc-activity").inner_text()


async def test_an_openid_provider_set_up_in_the_console_is_offered_on_the_portals_sign_in_page(
    console, stack, browser, openid_provider
):
    await console.goto(f"{stack.portal_url}/console/portal")
    assert await console.get_by_text("Email link").is_visible()
    form = console.get_by_role("form", name="OpenID Connect")
    await form.get_by_label("Issuer URL").fill(openid_provider.url)
    await form.get_by_label("Display name (optional)").fill("Console SSO")
    await form.get_by_label("Client ID").fill("console-portal")
    await form.get_by_label("Client secret").fill("typed-secret-never-shown")
    await form.get_by_role("button", name="Save OpenID Connect sign-in").click()
    await console.get_by_text("Customers can now sign in with OpenID Connect.").wait_for()
    assert "Continue with Console SSO" in await console.locator("[data-provider=oidc]").inner_text()
    assert "typed-secret-never-shown" not in await console.content()
    await console.reload()
    assert await console.get_by_text("Customers can now sign in with OpenID Connect.").count() == 0
    customer = await browser.new_context()
    try:
        page = await customer.new_page()
        await page.goto(f"{stack.portal_url}/portal/{stack.slug}")
        await (
            page.get_by_role("link", name="Continue with Console SSO")
            .or_(page.get_by_role("button", name="Continue with Console SSO"))
            .wait_for()
        )
        async with merchant_api(stack) as api:
            provider = (await api.get("/v1/oauth-providers/oidc")).json()
            assert (provider["issuer"], provider["client_id"]) == (openid_provider.url, "console-portal")

        await console.get_by_role("button", name="Remove OpenID Connect sign-in").click()
        await console.get_by_text("OpenID Connect sign-in removed.").wait_for()
        await page.reload()
        await page.get_by_label("Email address").wait_for()
        assert await page.get_by_text("Continue with Console SSO").count() == 0
        async with merchant_api(stack) as api:
            assert (await api.get("/v1/oauth-providers/oidc")).status_code == 404
            names = [e["name"] for e in (await api.get("/v1/activity")).json()["items"][:2]]
        assert names == ["oauth_provider.removed", "oauth_provider.set"]
    finally:
        await customer.close()


async def test_a_viewer_has_no_write_buttons_and_a_forged_write_is_refused(console, browser, stack):
    viewer_email = "viewer@acme.example"
    await console.goto(f"{stack.portal_url}/console/team")
    if viewer_email not in await console.content():
        await console.get_by_label("Email address").fill(viewer_email)
        await console.get_by_label("Role").select_option("viewer")
        await console.get_by_role("button", name="Add to the team").click()
        await console.get_by_text(f"{viewer_email} can now sign in as viewer.").wait_for()
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await sign_in_console(page, stack, viewer_email)
        for path, button in (
            ("/console/developers", "Create API key"),
            ("/console/portal", "Save portal settings"),
            ("/console/portal", "Save GitHub sign-in"),
            ("/console/portal", "Save retention offers"),
            ("/console/team", "Add to the team"),
        ):
            await page.goto(stack.portal_url + path)
            assert await page.get_by_role("button", name=button).count() == 0, path
        await page.goto(f"{stack.portal_url}/console/customers?q={ADA}")
        await page.get_by_role("link", name=ADA).click()
        assert await page.get_by_role("button", name="Send portal link").count() == 0
        # what a hand-made form would do with the page's own token
        for action in (
            "/console/developers/api-keys",
            "/console/portal/sign-in/github",
            "/console/portal/retention",
        ):
            await page.goto(f"{stack.portal_url}/console/portal")
            await page.evaluate(
                """(action) => {
                    const form = document.createElement('form');
                    form.method = 'post'; form.action = action;
                    form.append(document.querySelector('input[name=csrf_token]').cloneNode());
                    document.body.append(form); form.submit();
                }""",
                action,
            )
            await page.get_by_role("heading", name="Not allowed").wait_for()
            assert "you are viewer" in await page.content()
    finally:
        await context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_finds_no_serious_issue_on_any_console_page(owner, stack, scheme):
    page = await owner.new_page()
    await page.emulate_media(color_scheme=scheme)
    problems = {}
    try:
        for path in PAGES:
            await page.goto(stack.portal_url + path)
            results = await Axe().run(page)
            blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
            if blocking:
                problems[path] = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in blocking]
    finally:
        await page.close()
    assert problems == {}, json.dumps(problems, indent=1)


async def test_every_console_page_fits_a_390_px_phone(owner, stack):
    page = await owner.new_page()
    await page.set_viewport_size({"width": 390, "height": 800})
    try:
        for path in PAGES:
            await page.goto(stack.portal_url + path)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
    finally:
        await page.close()


async def test_retention_offers_set_in_the_console_are_what_the_api_reads(console, stack):
    async with merchant_api(stack) as api:
        before = (await api.get("/v1/retention-settings")).json()
    try:
        await console.goto(f"{stack.portal_url}/console/portal")
        form = console.get_by_role("form", name="Retention offers")
        expensive = form.get_by_role("group", name="Too expensive")
        await expensive.get_by_label("Offer").select_option(label="A cheaper plan")
        plan = expensive.get_by_label("Plan (a cheaper plan)")
        plan_id = await plan.locator("option").nth(1).get_attribute("value")
        await plan.select_option(plan_id)
        await expensive.get_by_label("Message").fill("Our smaller plan costs less.")
        await form.get_by_label("Months between two offers to one customer").fill("6")
        await form.get_by_role("button", name="Save retention offers").click()
        await console.get_by_text("Retention offers saved.").wait_for()
        await expect(expensive.get_by_label("Offer")).to_have_value("plan")
        await expect(plan).to_have_value(plan_id)
        async with merchant_api(stack) as api:
            saved = (await api.get("/v1/retention-settings")).json()
            activity = (await api.get("/v1/activity")).json()["items"][0]
        assert saved["window_months"] == 6
        assert saved["offers"]["too_expensive"] == {
            "kind": "plan",
            "price_id": plan_id,
            "message": "Our smaller plan costs less.",
        }
        assert activity["name"] == "retention_settings.updated"

        other = form.get_by_role("group", name="Other")
        await other.get_by_label("Offer").select_option(label="A pause")
        await other.get_by_label("Message").fill("Take a break instead.")
        await form.get_by_role("button", name="Save retention offers").click()
        await console.get_by_role("alert").get_by_text("takes pause_periods").wait_for()
        await expect(other.get_by_label("Offer")).to_have_value("pause")  # as typed, to correct
        await expect(other.get_by_label("Message")).to_have_value("Take a break instead.")
        async with merchant_api(stack) as api:
            assert (await api.get("/v1/retention-settings")).json() == saved  # nothing half-saved
    finally:
        async with merchant_api(stack) as api:
            restored = {"window_months": before["window_months"], "offers": before["offers"]}
            assert (await api.put("/v1/retention-settings", json=restored)).status_code == 200
