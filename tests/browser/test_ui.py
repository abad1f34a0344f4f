"""What a person sees and does in the portal's views, in a real Chromium: forms that show what was saved,
keyboard focus in flows, layout at phone width, contrast in both themes, and error pages."""

from __future__ import annotations

import gzip
import itertools

import httpx

from tests.browser.support import ADA, open_portal, said_to, wait_event

KENJI = "kenji@sakura-robotics.example"

ZOE = "zoe@fischer-labs.example"  # German locale


def _customer(stack, email: str) -> dict:
    response = httpx.get(
        f"{stack.portal_url}/v1/customers/{stack.customers[email]}",
        headers={"Authorization": f"Bearer {stack.api_key}"},
    )
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


async def test_billing_details_show_what_was_saved_and_a_second_save_keeps_it(page, host, stack):
    frame = await open_portal(page, host, ZOE, view="settings")
    form = frame.locator('form[data-action="update_billing"]')
    country = form.get_by_label("Land", exact=True)
    options = await country.locator("option").all_text_contents()
    named = options[1:]  # after "choose a country"
    assert len(named) == 249
    assert {"Deutschland", "Österreich"} <= set(named)
    assert named.index("Österreich") < named.index("Polen")  # sorted by the German name
    await form.get_by_label("Name auf der Rechnung").fill("Zoë Fischer")
    await country.select_option(label="Deutschland")
    await form.get_by_role("button").click()
    await frame.get_by_text("Rechnungsdaten gespeichert.").wait_for()
    form = frame.locator('form[data-action="update_billing"]')
    assert await form.get_by_label("Name auf der Rechnung").input_value() == "Zoë Fischer"
    assert await form.get_by_label("Land", exact=True).input_value() == "DE"
    saved = _customer(stack, ZOE)
    assert (saved["billing_name"], saved["billing_address"]["country"]) == ("Zoë Fischer", "DE")

    await form.get_by_role("button").click()  # a second save sends what the form shows: nothing undone
    await frame.locator(".ss-msg").wait_for()
    again = _customer(stack, ZOE)
    assert (again["billing_name"], again["billing_address"]["country"]) == ("Zoë Fischer", "DE")
    form = frame.locator('form[data-action="update_billing"]')
    assert await form.get_by_label("Land", exact=True).input_value() == "DE"


async def _focused(frame) -> str:
    """The focused element: its tag and text."""
    found: str = await frame.evaluate(
        "() => document.activeElement.tagName + ' ' + document.activeElement.textContent.trim()"
    )
    return found


async def test_a_flow_takes_focus_to_its_heading_and_escape_closes_it_back_to_its_opener(page, host):
    frame = await open_portal(page, host, ADA, view="subscriptions")
    for opener, heading in (("Change plan", "H3 Change plan"), ("Cancel subscription", "H3 Cancel ")):
        link = frame.get_by_role("link", name=opener).first
        await link.focus()
        await page.keyboard.press("Enter")
        await frame.locator(".ss-flow").wait_for()
        assert (await _focused(frame)).startswith(heading)
        await page.keyboard.press("Escape")
        await frame.locator(".ss-flow").wait_for(state="detached")
        await frame.wait_for_function("() => document.activeElement.tagName === 'A'")
        assert await _focused(frame) == f"A {opener}"
    closes = await page.evaluate("() => events.filter((e) => e.type === 'close').length")
    assert closes == 0  # Escape in an open flow closes the flow, not the portal
    await page.keyboard.press("Escape")
    await wait_event(page, "close")


PHONE = {"width": 390, "height": 800}
EMMA = "emma.johnson@northwind.example"

BOXES = """(selector) => [...document.querySelectorAll(selector)].map((row) =>
  [...row.children].filter((el) => el.getClientRects().length).map((el) => {
    const target = el.querySelector("button, a, summary") || el;
    const box = target.getBoundingClientRect(), range = document.createRange();
    range.selectNodeContents(target);
    const words = range.getBoundingClientRect();
    return { text: target.textContent.trim(), top: box.top, bottom: box.bottom, left: box.left,
             right: box.right, middle: (words.top + words.bottom) / 2 };
  }))"""


def _apart(a: dict, b: dict) -> float:
    """How far apart two boxes are (0 when they touch or overlap)."""
    across = max(b["left"] - a["right"], a["left"] - b["right"])
    down = max(b["top"] - a["bottom"], a["top"] - b["bottom"])
    return max(across, down, 0)


async def _rows_line_up_and_keep_apart(frame, selector: str) -> None:
    rows = await frame.evaluate(BOXES, selector)
    assert rows
    for row in rows:
        for a, b in itertools.pairwise(row):
            if abs(a["top"] - b["top"]) < 20:  # on one line: their words on one level
                assert abs(a["middle"] - b["middle"]) <= 2, (a, b)
            assert _apart(a, b) >= 8, (a, b)


async def test_action_buttons_line_up_and_never_touch(page, host):
    frame = await open_portal(page, host, ADA, view="subscriptions")
    await frame.get_by_role("button", name="Pause").wait_for()
    await _rows_line_up_and_keep_apart(frame, ".ss-actions")
    await frame.get_by_role("link", name="Change seats").click()
    await frame.get_by_label("Number of seats").fill("9")
    await frame.get_by_role("button", name="Preview").click()
    confirm = frame.get_by_role("button", name="Confirm 9 seats")
    back = frame.locator(".ss-flow").get_by_role("link", name="Back")
    confirm_box, back_box = await confirm.bounding_box(), await back.bounding_box()
    assert back_box["y"] - (confirm_box["y"] + confirm_box["height"]) >= 8
    await frame.get_by_role("link", name="Cancel subscription").click()
    await frame.get_by_role("button", name="Continue").click()
    await frame.get_by_role("button", name="Confirm cancellation").wait_for()
    await _rows_line_up_and_keep_apart(frame, ".ss-flow .ss-actions")


async def test_the_tab_bar_is_one_row_at_phone_width_and_shows_the_current_tab(browser, host):
    context = await browser.new_context(viewport=PHONE, locale="de-DE")
    try:
        page = await context.new_page()
        frame = await open_portal(page, host, ZOE, view="settings")
        tabs = await frame.evaluate(
            """() => [...document.querySelectorAll('.ss-nav a')].map((a) => {
                 const box = a.getBoundingClientRect(), nav = a.parentNode.getBoundingClientRect();
                 return { top: box.top, current: a.hasAttribute('aria-current'),
                          shown: box.left >= nav.left - 1 && box.right <= nav.right + 1 };
               })"""
        )
        assert len(tabs) == 6
        assert len({round(tab["top"]) for tab in tabs}) == 1  # one row
        assert [tab["shown"] for tab in tabs if tab["current"]] == [True]
        assert await frame.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        nav_right = await frame.evaluate("document.querySelector('.ss-nav').getBoundingClientRect().right")
        assert nav_right <= PHONE["width"]
    finally:
        await context.close()


async def test_a_benefit_link_reads_as_words_not_a_mailto_address(page, host):
    frame = await open_portal(page, host, ADA, view="overview")
    benefit = frame.locator(".ss-benefit").filter(has_text="Priority support")
    link = benefit.get_by_role("link")
    assert await link.get_attribute("href") == "mailto:priority@acme.example"
    assert await link.text_content() == "Write to priority@acme.example"


async def test_orders_are_compact_rows_with_details_on_demand(page, host):
    frame = await open_portal(page, host, ADA, view="orders")
    orders = frame.locator("article.ss-order")
    assert await orders.count() >= 10
    heights = [box["height"] for box in [await orders.nth(i).bounding_box() for i in range(5)]]
    assert max(heights) < 110, heights
    first = orders.first
    lines = first.locator("table")
    assert not await lines.is_visible()
    await first.get_by_text("Details").click()
    assert await lines.is_visible()
    assert await first.get_by_role("link", name="Download invoice (PDF)").is_visible()


async def test_the_demo_merchant_page_fits_a_phone(browser, stack):
    context = await browser.new_context(viewport=PHONE)
    try:
        page = await context.new_page()
        await page.goto(stack.merchant_url + "/")
        box = await page.locator("#customer").bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        await context.close()


async def test_the_front_page_is_styled_and_fits_a_phone(browser, stack):
    context = await browser.new_context(viewport=PHONE)
    try:
        page = await context.new_page()
        await page.goto(stack.portal_url + "/")
        await page.get_by_role("heading", name="This server hosts customer billing portals").wait_for()
        main = page.locator("main")
        styled = await main.evaluate(
            "(el) => [getComputedStyle(el).borderTopStyle, getComputedStyle(document.body).fontFamily]"
        )
        assert styled[0] == "solid"
        assert "system-ui" in styled[1]
        assert await page.get_by_role("link", name="API reference").get_attribute("href") == "/schema"
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        await context.close()


async def test_a_person_gets_an_error_page_in_their_language_and_the_api_keeps_problem_json(browser, stack):
    context = await browser.new_context(locale="de-DE")
    try:
        page = await context.new_page()
        response = await page.goto(stack.portal_url + "/portal/no-such-shop/nothing-here")
        assert response.status == 404
        await page.get_by_role("heading", name="Diese Seite gibt es nicht").wait_for()
        assert await page.evaluate("document.documentElement.lang") == "de-DE"
        api = await page.goto(stack.portal_url + "/v1/organization")
        assert api.status == 401
        assert api.headers["content-type"] == "application/problem+json"
        assert (await api.json())["status"] == 401
    finally:
        await context.close()


async def test_the_usage_chart_shows_dates_and_a_value_on_hover_and_focus(page, host):
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    frame = await open_portal(page, host, KENJI, view="usage")
    card = frame.locator("article").first
    await card.locator(".ss-percent").wait_for()
    assert "%" in await card.locator(".ss-percent").text_content()
    axis = await card.locator(".axis.x text").all_text_contents()
    assert len(axis) >= 3
    assert all(any(ch.isdigit() for ch in label) for label in axis)
    bars = card.locator("g.bar")
    last = bars.last
    value = last.locator(".ss-val")
    assert not await value.is_visible()
    await last.hover()
    assert await value.is_visible()
    await page.mouse.move(0, 0)
    await bars.first.focus()
    assert await bars.first.locator(".ss-val").is_visible()
    await card.get_by_text(said_to(KENJI)("Show as a table")).click()  # in Japanese, as Kenji reads it
    rows = card.locator("tbody tr")
    assert await rows.count() == await bars.count()
    latest = (await rows.first.locator("td").last.text_content()).strip()  # the table lists newest first
    assert await value.text_content() == latest
    assert f": {latest} " in await last.get_attribute("aria-label")
    assert refused == []


async def test_the_usage_view_with_its_charts_stays_within_the_first_view_budget(page, host, stack):
    frame = await open_portal(page, host, KENJI, view="usage")
    await frame.locator("svg.ss-chart-svg").first.wait_for()
    assert await frame.locator("svg.ss-chart-svg").count() >= 2
    html = await frame.evaluate("document.documentElement.outerHTML")
    shipped = [html.encode()]
    for path in ("/static/portal.css", "/static/portal.js"):
        shipped.append(httpx.get(stack.portal_url + path).content)
    total = sum(len(gzip.compress(part, compresslevel=9)) for part in shipped)
    assert total <= 30 * 1024, total  # EMBEDDING.md: first view, all bytes, gzip -9
