"""The loader and the frame in a real Chromium: a host page on another origin embeds the portal."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from server.clock import FrozenClock, use_clock
from tests.browser.support import ADA, VIEWS, frame_of, mount_script, open_portal, settled_height, wait_event

SOFIA = "sofia@olivar-estudio.example"
EMMA = "emma.johnson@northwind.example"
NOAH = "noah@williams-woodworks.example"


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


async def test_two_instances_on_one_page_do_not_hear_each_other(page, host):
    body = '<div id="second"></div>'
    script = mount_script(ADA, view="overview", name="a") + mount_script(
        SOFIA, view="orders", name="b", target="#second"
    )
    await page.goto(host.page(script, body=body))
    await wait_event(page, "ready", "a")
    await wait_event(page, "ready", "b")
    first, second = await frame_of(page), await frame_of(page, "#second iframe")
    assert await first.evaluate("document.querySelector('[aria-current=page]').dataset.view") == "overview"
    assert await second.evaluate("document.querySelector('[aria-current=page]').dataset.view") == "orders"
    outer_b, inner_b = await settled_height(page, second, "#second iframe")
    assert outer_b == inner_b
    # a frame that speaks in the other instance's name is not listened to: the source must be that frame
    other_id = await second.evaluate("document.getElementById('ss-root').dataset.instance")
    await first.evaluate(
        "(id) => parent.postMessage({v: 1, id, type: 'resize', data: {height: 7}}, '*')", other_id
    )
    await page.evaluate("portals.a.navigate('wallet')")
    await wait_event(page, "navigate", "a")
    assert (
        await page.evaluate("document.querySelector('#second iframe').getBoundingClientRect().height")
        == outer_b
    )
    assert await page.evaluate("events.filter((e) => e.name === 'b').map((e) => e.type)") == ["ready"]
    assert await page.evaluate("events.filter((e) => e.name === 'a').map((e) => e.type)") == [
        "ready",
        "navigate",
    ]


async def test_the_element_works_on_a_page_with_a_strict_csp(page, host):
    script = f"""
      const element = document.querySelector("selfserve-portal");
      element.fetchToken = fetchTokenFor({json.dumps(ADA)});
      for (const type of ["ready", "navigate"]) {{
        element.addEventListener("selfserve:" + type, (e) =>
          events.push({{ name: "a", type, detail: e.detail }}));
      }}
    """
    body = '<selfserve-portal view="usage" theme="dark" locale="en"></selfserve-portal>'
    url = host.page(script, body=body)
    await page.goto(url)
    ready = await wait_event(page, "ready")
    assert ready[0]["detail"] == {"view": "usage"}
    csp = (await page.request.get(url)).headers["content-security-policy"]
    assert "style-src 'self';" in csp
    assert "unsafe" not in csp
    frame = await frame_of(page, "selfserve-portal iframe")
    assert await frame.evaluate("document.documentElement.dataset.theme") == "dark"
    style = await page.evaluate(
        "getComputedStyle(document.querySelector('selfserve-portal iframe')).borderTopWidth"
    )
    assert style == "0px"  # the loader's styles applied through the CSSOM despite style-src 'self'
    assert await page.evaluate("document.querySelectorAll('style').length") == 0
    assert await page.evaluate("violations") == []
    await page.evaluate("document.querySelector('selfserve-portal').remove()")
    assert await page.evaluate("document.querySelectorAll('iframe').length") == 0


async def test_a_refused_origin_shows_the_readable_page_and_the_loader_emits_error(page, host, stack):
    await page.goto(host.page(mount_script(ADA, org=stack.slug), origin=host.refused))
    error = await wait_event(page, "error")
    assert error[0]["detail"] == {"code": "origin_refused"}
    frame = await frame_of(page)
    text = await frame.evaluate("document.body.innerText")
    assert f"has not allowed {host.refused} to embed" in text
    assert await page.evaluate("events.filter((e) => e.type === 'ready').length") == 0


async def test_an_origin_the_org_refuses_gets_no_session(page, host):
    await page.goto(host.page(mount_script(ADA), origin=host.refused))
    error = await wait_event(page, "error")
    assert error[0]["detail"] == {"code": "origin_refused"}
    frame = await frame_of(page)
    assert "has not allowed" in await frame.evaluate("document.body.innerText")


@pytest.mark.parametrize("kind", ["replayed", "expired", "origin"])
async def test_replayed_expired_and_other_origin_tokens_are_refused(page, host, stack, kind):
    if kind == "expired":
        with use_clock(FrozenClock(datetime.now(UTC) - timedelta(hours=2))):
            token = stack.token(EMMA, ttl=60)
    elif kind == "origin":
        token = stack.token(EMMA, origins=["https://elsewhere.example"])
    else:
        token = stack.token(EMMA)
        await page.goto(host.page(f"SelfServe.mount('#billing', {{ token: {json.dumps(token)} }});"))
        await frame_of(page)
        await page.wait_for_function("() => document.querySelector('#billing iframe').offsetHeight > 300")
    script = f"SelfServe.mount('#billing', {{ token: {json.dumps(token)}, onEvent: record('a') }});"
    await page.goto(host.page(script))
    expired = await wait_event(page, "expired")
    assert expired[0]["detail"] == {"code": f"token_{kind}"}
    frame = await frame_of(page)
    assert "Your session has ended" in await frame.evaluate("document.body.innerText")
    assert await page.evaluate("events.map((e) => e.type)") == ["expired"]


async def test_a_session_near_expiry_is_renewed_through_fetch_token_once_without_reload(page, host):
    await page.clock.install()
    calls = host.token_calls.count(NOAH)
    await page.goto(host.page(mount_script(NOAH), body='<div class="tall"></div>'))
    await wait_event(page, "ready")
    frame = await frame_of(page)
    await frame.evaluate("window.sameDocument = true")
    await page.evaluate("window.scrollTo(0, 400)")
    assert host.token_calls.count(NOAH) == calls + 1
    await page.clock.fast_forward("29:30")
    for _ in range(100):
        if host.token_calls.count(NOAH) == calls + 2:
            break
        await asyncio.sleep(0.1)
    assert host.token_calls.count(NOAH) == calls + 2
    await page.evaluate("portals.a.navigate('orders')")  # the renewed session still works
    await wait_event(page, "navigate")
    assert await frame.evaluate("window.sameDocument") is True
    assert await page.evaluate("window.scrollY") == 400
    assert host.token_calls.count(NOAH) == calls + 2
    assert await page.evaluate("events.map((e) => e.type)") == ["ready", "navigate"]


async def test_a_runtime_theme_switch_repaints_with_matching_color_schemes(page, host):
    frame = await open_portal(page, host, theme="light")
    background = "getComputedStyle(document.body).backgroundColor"
    light = await frame.evaluate(background)
    await page.evaluate("portals.a.update({ theme: 'dark' })")
    await frame.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    assert await frame.evaluate(background) != light
    # the iframe's color-scheme equals the document's: otherwise Chromium paints an opaque backdrop
    assert await page.evaluate("document.querySelector('#billing iframe').style.colorScheme") == "dark"
    assert await frame.evaluate("getComputedStyle(document.documentElement).colorScheme") == "dark"


async def test_a_frame_that_never_says_hello_is_reported_after_15_seconds(page, host):
    await page.clock.install()
    await page.route(
        "**/embed?*", lambda route: route.fulfill(status=200, content_type="text/html", body="<p>")
    )
    await page.goto(host.page(mount_script(ADA)))
    await page.clock.fast_forward("00:14")
    assert await page.evaluate("events.map((e) => e.type)") == []
    await page.clock.fast_forward("00:02")
    error = await wait_event(page, "error")
    assert error[0]["detail"] == {"code": "timeout"}
