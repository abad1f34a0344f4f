"""Helpers the browser tests share: open a portal on a host page, find its frame, wait for its events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.browser.conftest import HostSite

ADA = "ada@analytical-engines.example"
VIEWS = ("overview", "subscriptions", "orders", "usage", "wallet", "settings")
SETTLE_SECONDS = 10.0


def mount_script(
    email: str, *, view: str = "overview", name: str = "a", target: str = "#billing", **extra: Any
) -> str:
    """JS that mounts one portal with a fetchToken for ``email`` and records its events under ``name``."""
    options = {"view": view, **extra}
    given = "".join(f", {key}: {json.dumps(value)}" for key, value in options.items())
    return (
        f"window.portals = window.portals || {{}};\n"
        f"window.portals[{json.dumps(name)}] = SelfServe.mount({json.dumps(target)}, {{ "
        f"fetchToken: fetchTokenFor({json.dumps(email)}), onEvent: record({json.dumps(name)}){given} }});"
    )


async def wait_event(page: Any, type_: str, name: str = "a", count: int = 1) -> list[dict[str, Any]]:
    """The recorded events of ``type_`` once there are ``count`` of them."""
    # a function, not an expression string: the host page's CSP forbids eval
    await page.wait_for_function(
        "([n, t, c]) => events.filter((e) => e.name === n && e.type === t).length >= c",
        arg=[name, type_, count],
        timeout=SETTLE_SECONDS * 1000,
    )
    found: list[dict[str, Any]] = await page.evaluate(
        "([n, t]) => events.filter((e) => e.name === n && e.type === t)", [name, type_]
    )
    return found


async def frame_of(page: Any, selector: str = "#billing iframe") -> Any:
    handle = await page.wait_for_selector(selector, state="attached")
    return await handle.content_frame()


async def settled_height(page: Any, frame: Any, selector: str = "#billing iframe") -> tuple[float, float]:
    """(iframe height on the host page, content height inside the frame) once they agree, or the last seen."""
    outer = inner = -1.0
    for _ in range(int(SETTLE_SECONDS / 0.1)):
        inner = await frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
        outer = await page.evaluate(
            f"document.querySelector({json.dumps(selector)}).getBoundingClientRect().height"
        )
        if inner == outer:
            break
        await asyncio.sleep(0.1)
    return outer, inner


async def open_portal(page: Any, host: HostSite, email: str = ADA, **options: Any) -> Any:
    """A host page with one mounted portal, ready; returns the portal's frame."""
    await page.goto(host.page(mount_script(email, **options)))
    await wait_event(page, "ready")
    return await frame_of(page)
