"""The loader and the frame in a real Chromium: a host page on another origin embeds the portal."""

from __future__ import annotations

import pytest

from tests.browser.support import VIEWS, open_portal, settled_height


@pytest.mark.parametrize("view", VIEWS)
async def test_every_view_loads_at_its_own_height_with_no_inner_scrollbar(page, host, view):
    frame = await open_portal(page, host, view=view)
    assert await frame.evaluate("document.querySelector('#ss-heading') !== null")
    assert await frame.evaluate("document.querySelector('[aria-current=page]').dataset.view") == view
    outer, inner = await settled_height(page, frame)
    assert outer == inner > 200
    assert await frame.evaluate(
        "document.documentElement.scrollHeight <= document.documentElement.clientHeight"
    )
    assert await page.get_attribute("#billing iframe", "title") == "Billing portal"
    assert await page.evaluate("violations") == []
