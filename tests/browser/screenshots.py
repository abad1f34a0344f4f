"""``make screenshots``: a PNG of every view and of the cancel flow's two steps (the reason, the review) in
every locale, embedded in a host page -- English light and dark, at desktop width and at 390 px (a phone), in
docs/screenshots/; Arabic (right to left) light, dark and at 390 px, and every other locale light, in
docs/screenshots/<locale>/ -- and of every merchant console page (light and dark, and the home at 390 px).
Not collected by the normal run: pytest runs it when named explicitly."""

from __future__ import annotations

import subprocess

import pytest
from PIL import Image

from tests.browser.conftest import REPO
from tests.browser.support import ADA, VIEWS, open_portal, said_in, settled_height, sign_in_console

OUT = REPO / "docs" / "screenshots"
CUSTOMER = {"usage": "priya@monsoon-data.example"}
"""Whose portal a view is shown for, when not Ada's (her plan has no metered usage)."""
LOCALES = ("en", "de", "fr", "es", "pt-BR", "ja", "ar")
LOOKS = {
    "en": (("light", 900), ("dark", 900), ("light", 390), ("dark", 390)),
    "ar": (("light", 900), ("dark", 900), ("light", 390)),
}
"""(colour scheme, width) each locale is shown in; light at desktop width when not named."""
CANCEL_STEPS = ("cancel-reason", "cancel-review")
SHOTS = [
    (shot, scheme, width, locale)
    for locale in LOCALES
    for scheme, width in LOOKS.get(locale, (("light", 900),))
    for shot in (*VIEWS, *CANCEL_STEPS)
]


@pytest.fixture(scope="module")
def fonts() -> None:
    """Chromium draws with the system's fonts: without one for Japanese every kanji would be a box."""
    missing = [
        lang
        for lang in ("ja", "ar")
        if not subprocess.run(["fc-list", f":lang={lang}"], capture_output=True, text=True).stdout.strip()
    ]
    assert missing == [], f"no font for {missing}: install one (Debian: fonts-noto-cjk) first"


def make_small(path) -> None:
    """Keep a committed PNG small: 256 colours (no dithering) are a third of the bytes and read the same."""
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


async def open_cancel_flow(frame, locale: str, step: str) -> None:
    """Walk Ada's cancel flow to ``step`` as she does: by the words on its links and buttons."""
    said = said_in(locale)
    await frame.get_by_role("link", name=said("Cancel subscription"), exact=True).first.click()
    button = frame.get_by_role("button", name=said("Continue"), exact=True)
    if step == "cancel-review":
        await button.click()
        button = frame.get_by_role("button", name=said("Confirm cancellation"), exact=True)
    await button.wait_for()


@pytest.mark.parametrize(("shot", "scheme", "width", "locale"), SHOTS)
async def test_screenshot(browser, host, fonts, shot, scheme, width, locale):
    context = await browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page = await context.new_page()
        view = "subscriptions" if shot in CANCEL_STEPS else shot
        frame = await open_portal(page, host, CUSTOMER.get(view, ADA), view=view, theme=scheme, locale=locale)
        if shot in CANCEL_STEPS:
            await open_cancel_flow(frame, locale, shot)
        height, _ = await settled_height(page, frame)
        # Chromium paints a cross-origin frame only where it is in view: make the whole frame the view
        await page.set_viewport_size({"width": width, "height": int(height) + 200})
        await frame.evaluate(
            "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )
        folder = OUT if locale == "en" else OUT / locale
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (f"{shot}-phone-{scheme}.png" if width < 600 else f"{shot}-{scheme}.png")
        await page.locator("#billing iframe").screenshot(path=path)
        make_small(path)
        assert path.stat().st_size > 1000
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
