"""``make screenshots``: a PNG of every view, light and dark, at desktop width and at 390 px (a phone),
embedded in a host page, into docs/screenshots/. Not collected by the normal run: pytest runs it when named
explicitly."""

from __future__ import annotations

import pytest

from tests.browser.conftest import REPO
from tests.browser.support import ADA, VIEWS, open_portal, settled_height

OUT = REPO / "docs" / "screenshots"
CUSTOMER = {"usage": "priya@monsoon-data.example"}
"""Whose portal a view is shown for, when not Ada's (her plan has no metered usage)."""
SHOTS = [(view, scheme, width) for view in VIEWS for scheme in ("light", "dark") for width in (900, 390)]


@pytest.mark.parametrize(("view", "scheme", "width"), SHOTS)
async def test_screenshot(browser, host, view, scheme, width):
    context = await browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page = await context.new_page()
        frame = await open_portal(page, host, CUSTOMER.get(view, ADA), view=view, theme=scheme)
        height, _ = await settled_height(page, frame)
        # Chromium paints a cross-origin frame only where it is in view: make the whole frame the view
        await page.set_viewport_size({"width": width, "height": int(height) + 200})
        await frame.evaluate(
            "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )
        OUT.mkdir(parents=True, exist_ok=True)
        name = f"{view}-phone-{scheme}.png" if width < 600 else f"{view}-{scheme}.png"
        await page.locator("#billing iframe").screenshot(path=OUT / name)
        assert (OUT / name).stat().st_size > 1000
    finally:
        await context.close()
