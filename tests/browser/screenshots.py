"""``make screenshots``: a PNG of every view, light and dark, at desktop width and at 390 px (a phone),
embedded in a host page, and of every merchant console page (light and dark, and the home at 390 px), into
docs/screenshots/. Not collected by the normal run: pytest runs it when named
explicitly."""

from __future__ import annotations

import pytest

from tests.browser.conftest import REPO
from tests.browser.support import ADA, VIEWS, open_portal, settled_height, sign_in_console

OUT = REPO / "docs" / "screenshots"
CUSTOMER = {"usage": "priya@monsoon-data.example"}
"""Whose portal a view is shown for, when not Ada's (her plan has no metered usage)."""
SHOTS = [(view, scheme, width) for view in VIEWS for scheme in ("light", "dark") for width in (900, 390)]


SHOTS = [(view, scheme, width, "en") for view, scheme, width in SHOTS]
SHOTS += [
    (view, scheme, width, "ar")
    for view in VIEWS
    for scheme, width in (("light", 900), ("dark", 900), ("light", 390))
]
SHOTS += [(view, "light", 900, "ja") for view in VIEWS]
"""English everywhere; Arabic (right to left) light, dark and at 390 px; Japanese light."""


@pytest.mark.parametrize(("view", "scheme", "width", "locale"), SHOTS)
async def test_screenshot(browser, host, view, scheme, width, locale):
    context = await browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page = await context.new_page()
        options = {"view": view, "theme": scheme} | ({} if locale == "en" else {"locale": locale})
        frame = await open_portal(page, host, CUSTOMER.get(view, ADA), **options)
        height, _ = await settled_height(page, frame)
        # Chromium paints a cross-origin frame only where it is in view: make the whole frame the view
        await page.set_viewport_size({"width": width, "height": int(height) + 200})
        await frame.evaluate(
            "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )
        OUT.mkdir(parents=True, exist_ok=True)
        name = f"{view}-phone-{scheme}.png" if width < 600 else f"{view}-{scheme}.png"
        name = name if locale == "en" else f"{locale}/{name}"
        (OUT / locale).mkdir(exist_ok=True)
        await page.locator("#billing iframe").screenshot(path=OUT / name)
        assert (OUT / name).stat().st_size > 1000
    finally:
        await context.close()


CONSOLE_PAGES = {
    "home": "/console",
    "customers": "/console/customers",
    "customer": "/console/customers?q=" + ADA,
    "portal": "/console/portal",
    "developers": "/console/developers",
    "analytics": "/console/analytics?days=90",
    "team": "/console/team",
}
CONSOLE_SHOTS = [(name, scheme, 1280) for name in CONSOLE_PAGES for scheme in ("light", "dark")]
CONSOLE_SHOTS += [("home", scheme, 390) for scheme in ("light", "dark")]


@pytest.fixture(scope="module")
async def console_state(browser, stack, tmp_path_factory):
    """The demo owner's signed-in browser state, saved once for every console shot."""
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in_console(page, stack)
    path = tmp_path_factory.mktemp("console") / "state.json"
    await context.storage_state(path=path)
    await context.close()
    return path


@pytest.mark.parametrize(("name", "scheme", "width"), CONSOLE_SHOTS)
async def test_console_screenshot(browser, stack, console_state, name, scheme, width):
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, storage_state=console_state
    )
    try:
        page = await context.new_page()
        await page.goto(stack.portal_url + CONSOLE_PAGES[name])
        if name == "customer":
            await page.get_by_role("link", name=ADA).click()
        if name == "portal":
            frame = page.frame_locator("#sc-preview")
            await frame.get_by_role("heading", level=1, name="Overview").wait_for()
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / (f"console-{name}-phone-{scheme}.png" if width < 600 else f"console-{name}-{scheme}.png")
        await page.screenshot(path=path, full_page=True)
        assert path.stat().st_size > 1000
    finally:
        await context.close()
