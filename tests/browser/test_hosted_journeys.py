"""Journeys of the hosted portal in a real Chromium, as a person makes them: signing in by the emailed link,
opening a ``customer_portal_url``, the demo merchant's "Manage subscription" and back, changing the email.
No header is set by hand and no session is injected; each journey checks what the person sees, then what
the API and a verified webhook say."""

from __future__ import annotations

from typing import Any

from tests.browser.support import ADA, merchant_api, sign_in_hosted


async def _logins(stack: Any, method: str) -> int:
    async with merchant_api(stack) as api:
        response = await api.get("/v1/analytics/portal")
    assert response.status_code == 200, response.text
    return sum(day["by_method"].get(method, 0) for day in response.json()["logins_per_day"])


async def test_signing_in_by_the_emailed_link_opens_the_hosted_portal(page, stack):
    before = await _logins(stack, "magic_link")
    await sign_in_hosted(page, stack, ADA)
    assert await page.get_by_text("Hello Ada Lovelace!").is_visible()
    assert page.url == f"{stack.portal_url}/portal/{stack.slug}?view=overview"
    assert await _logins(stack, "magic_link") == before + 1
