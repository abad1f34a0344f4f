"""The demo merchant app's account page embeds the portal with tokens minted by its own backend."""

from __future__ import annotations


async def test_the_demo_account_page_embeds_the_portal_and_logs_its_events(page, stack):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else None,
    )
    await page.goto(stack.merchant_url + "/")
    await page.wait_for_function("() => document.getElementById('event-log').textContent.includes('ready')")
    frame = page.frame_locator("selfserve-portal iframe")
    await frame.get_by_role("heading", name="Overview").wait_for()
    await page.get_by_role("button", name="Dark").click()
    inner = await page.wait_for_selector("selfserve-portal iframe")
    content = await inner.content_frame()
    await content.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    await frame.get_by_role("link", name="Orders").first.click()
    await page.wait_for_function(
        "() => document.getElementById('event-log').textContent.includes('navigate')"
    )
    assert violations == []
