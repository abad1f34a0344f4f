"""Whole journeys in a real Chromium: a cancellation inside the iframe, a phone-sized screen, and axe-core on
every view in light and dark."""

from __future__ import annotations

import asyncio
import json

import pytest
from axe_playwright_python.async_playwright import Axe

from tests.browser.support import ADA, VIEWS, open_portal, settled_height, wait_event, webhook_events

LIAM = "liam@clover-apps.example"
BLOCKING = ("serious", "critical")


async def test_cancelling_inside_the_iframe_tells_the_host_page_and_sends_a_signed_webhook(page, host, stack):
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.goto(
        host.page(
            f"const fetchToken = fetchTokenFor({json.dumps(LIAM)});\n"
            "window.portals = { a: SelfServe.mount('#billing', { fetchToken, view: 'subscriptions' }) };\n"
            "document.querySelector('#billing').addEventListener('selfserve:subscription.canceled', "
            "(e) => events.push({ name: 'a', type: e.type, detail: e.detail }));"
        )
    )
    frame = page.frame_locator("#billing iframe")
    await frame.get_by_role("link", name="Cancel subscription").first.click()
    await frame.get_by_role("button", name="Continue").click()
    await frame.get_by_role("button", name="Confirm cancellation").click()
    canceled = await wait_event(page, "selfserve:subscription.canceled")
    detail = canceled[0]["detail"]
    assert set(detail) <= {"id", "status", "cancel_at_period_end"}
    assert "@" not in json.dumps(detail)  # ids and status only, never personal data
    [payload] = await webhook_events(stack, "subscription.canceled", lambda data: data["id"] == detail["id"])
    assert payload["data"]["status"] == detail["status"]


@pytest.mark.parametrize("view", VIEWS)
async def test_at_320_px_every_view_fits_the_width(browser, host, view):
    context = await browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = await context.new_page()
        frame = await open_portal(page, host, view=view)
        outer, inner = await settled_height(page, frame)
        assert outer == inner
        overflowing = await frame.evaluate(
            """() => [...document.querySelectorAll('#ss-root *')]
                 .filter((el) => !el.closest('.ss-nav a'))  // the tab bar scrolls sideways; the bar fits
                 .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                 .map((el) => el.outerHTML.slice(0, 80))"""
        )
        assert overflowing == []
        assert await frame.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        assert await page.evaluate("document.documentElement.scrollWidth") <= 320
    finally:
        await context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_finds_no_serious_issue_on_any_view(page, host, scheme):
    frame = await open_portal(page, host, view="overview", theme=scheme)
    axe = Axe()
    problems = {}
    for view in VIEWS:
        if view != "overview":
            await page.evaluate("(view) => portals.a.navigate(view)", view)
            await wait_event(page, "navigate", count=VIEWS.index(view))
        results = await axe.run(frame)
        blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
        if blocking:
            problems[view] = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in blocking]
    assert problems == {}
    assert ADA in host.token_calls


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_finds_no_serious_issue_in_the_open_cancel_review(page, host, scheme):
    frame = await open_portal(page, host, view="subscriptions", theme=scheme)
    await frame.get_by_role("link", name="Cancel subscription").first.click()
    await frame.get_by_role("button", name="Continue").click()
    confirm = frame.get_by_role("button", name="Confirm cancellation")
    await confirm.wait_for()
    results = await Axe().run(frame)
    blocking = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]
    assert blocking == []
