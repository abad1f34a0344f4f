"""``make screenshots``: a PNG of every view, light and dark, embedded in a host page, into docs/screenshots/
(and the overview at 320 px). Not collected by the normal run: pytest runs it when named explicitly."""

from __future__ import annotations

import pytest

from tests.browser.conftest import REPO
from tests.browser.support import VIEWS, open_portal, settled_height

OUT = REPO / "docs" / "screenshots"
SHOTS = [(view, scheme, 900) for view in VIEWS for scheme in ("light", "dark")]
SHOTS += [("overview", scheme, 320) for scheme in ("light", "dark")]


@pytest.mark.parametrize(("view", "scheme", "width"), SHOTS)
async def test_screenshot(browser, host, view, scheme, width):
    context = await browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page = await context.new_page()
        frame = await open_portal(page, host, view=view, theme=scheme)
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
