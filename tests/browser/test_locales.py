"""The embedded portal in Arabic (right to left) and Japanese, in a real Chromium: the page's direction and
language, translated headings and title, money and dates as each locale writes them, a mirrored layout, and
axe-core on every Arabic view."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.async_playwright import Axe

from tests.browser.support import ADA, VIEWS, open_portal, wait_event

BLOCKING = {"serious", "critical"}
ZOE = "zoe@fischer-labs.example"  # stored locale: German


async def _root(frame) -> list[str]:
    found: list[str] = await frame.evaluate(
        "[document.documentElement.lang, document.documentElement.dir,"
        " getComputedStyle(document.body).direction]"
    )
    return found


async def test_arabic_reads_right_to_left_with_arabic_money_and_a_mirrored_layout(page, host):
    frame = await open_portal(page, host, ADA, view="subscriptions", locale="ar")
    assert await _root(frame) == ["ar", "rtl", "rtl"]
    assert await frame.locator("h1").text_content() == "الاشتراكات"
    assert await page.locator("#billing iframe").get_attribute("title") == "بوابة الفوترة"
    text = await frame.locator("#ss-root").inner_text()
    assert re.search(r"\u200f[\d,]+\.\d\d\xa0US\$", text), text  # Babel's Arabic currency pattern
    assert "Subscriptions" not in text
    assert "Cancel subscription" not in text
    tabs = frame.locator(".ss-nav a")
    first, second = await tabs.nth(0).bounding_box(), await tabs.nth(1).bounding_box()
    assert first["x"] > second["x"]  # the first tab stands rightmost


async def test_arabic_keeps_an_order_number_and_its_date_apart_and_the_charts_numbers_whole(page, host):
    frame = await open_portal(page, host, ADA, view="overview", locale="ar")
    # each isolated, so right to left they read number, then date, not a date torn around the number
    first = frame.locator(".ss-row bdi").first
    assert re.fullmatch(r"ACME-\d+", await first.text_content())
    frame = await open_portal(page, host, "priya@monsoon-data.example", view="usage", locale="ar")
    # the y axis's numbers stand left of the bars, not run under them
    hidden = await frame.evaluate(
        """() => {
             const svg = document.querySelector('.ss-chart-svg');
             const lefts = [...svg.querySelectorAll('.ss-bar')].map((b) => b.getBoundingClientRect().left);
             const plot = Math.min(...lefts);
             return [...svg.querySelectorAll('.axis.y text')]
               .filter((t) => t.textContent.trim() && t.getBoundingClientRect().right > plot + 1)
               .map((t) => t.textContent);
           }"""
    )
    labels = await frame.locator(".ss-chart-svg .axis.y text").count()
    assert labels > 1
    assert hidden == []


async def test_japanese_speaks_japanese_and_writes_dates_its_way(page, host):
    frame = await open_portal(page, host, ADA, view="orders", locale="ja")
    assert await _root(frame) == ["ja", "ltr", "ltr"]
    assert await frame.locator("h1").text_content() == "注文"
    assert await page.locator("#billing iframe").get_attribute("title") == "お支払いポータル"
    text = await frame.locator("#ss-root").inner_text()
    assert re.search(r"\d{4}/\d{2}/\d{2}", text), text
    assert re.search(r"\$[\d,]+\.\d\d", text), text
    await page.evaluate("portals.a.navigate('subscriptions')")
    await wait_event(page, "navigate")
    assert await frame.locator("h1").text_content() == "サブスクリプション"


async def test_without_locale_the_stored_locale_decides_and_the_iframe_title_follows(page, host):
    frame = await open_portal(page, host, ZOE, view="wallet")
    assert await _root(frame) == ["de", "ltr", "ltr"]
    assert await frame.locator("h1").text_content() == "Guthaben"
    title = page.locator("#billing iframe")
    await page.wait_for_function(
        "() => document.querySelector('#billing iframe').title === 'Kundenportal'", timeout=5000
    )
    assert await title.get_attribute("title") == "Kundenportal"


@pytest.mark.parametrize("locale", ["ar", "ja"])
async def test_axe_finds_no_serious_issue_on_any_view(page, host, locale):
    frame = await open_portal(page, host, ADA, view="overview", locale=locale)
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
