"""What a person sees and does in the portal's views, in a real Chromium: forms that show what was saved,
keyboard focus in flows, layout at phone width, contrast in both themes, and error pages."""

from __future__ import annotations

import httpx

from tests.browser.support import ADA, open_portal, wait_event

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
