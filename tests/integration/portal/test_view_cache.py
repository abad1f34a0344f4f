"""The view cache: a view opened again is served from memory until something it shows changes, whoever
changes it; parameters, scopes and time each keep a fragment from being reused where it would be wrong."""

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from server.clock import FrozenClock, use_clock
from server.db.tables import Customer
from server.wallet.service import credit
from widgets import VIEWS

MARKER = "<p>served from the view cache</p>"


def bearer(session):
    return {"Authorization": f"Bearer {session}"}


def mark_every_entry(app):
    """Replace what the cache holds, so a response showing the marker provably came from it."""
    cache = app.state.view_cache
    for key in list(cache._entries):
        cache.put(key, MARKER)


async def test_a_view_opened_again_comes_from_the_cache(app, client, open_session):
    headers = bearer(await open_session())
    first = await client.get("/embed/views/wallet", headers=headers)
    assert first.status_code == 200
    assert MARKER not in first.text
    assert len(app.state.view_cache) == 1

    mark_every_entry(app)
    again = await client.get("/embed/views/wallet", headers=headers)
    assert again.status_code == 200
    assert again.text == MARKER
    assert again.headers["cache-control"] == "no-store"
    assert "frame-ancestors" in again.headers["content-security-policy"]


async def test_a_write_by_anyone_else_shows_at_once(app, client, open_session, org, customer, api_headers):
    headers = bearer(await open_session())
    await client.get("/embed/views/wallet", headers=headers)
    mark_every_entry(app)

    await credit(org.org.id, customer.id, 1250, "USD", "promotional", "Welcome credit")  # the worker, say
    page = await client.get("/embed/views/wallet", headers=headers)
    assert MARKER not in page.text
    assert "$12.50" in page.text

    mark_every_entry(app)
    response = await client.patch(
        f"/v1/customers/{customer.id}", json={"name": "Grace Hopper"}, headers=api_headers
    )
    assert response.status_code == 200, response.text
    page = await client.get("/embed/views/overview", headers=headers)
    assert MARKER not in page.text
    assert "Grace Hopper" in page.text


async def test_a_merchant_setting_shows_at_once(app, client, open_session, org, api_headers):
    headers = bearer(await open_session())
    await client.get("/embed/views/overview", headers=headers)
    mark_every_entry(app)
    response = await client.patch(
        "/v1/portal-settings", json={"welcome_message": "Hello from the shop"}, headers=api_headers
    )
    assert response.status_code == 200, response.text
    page = await client.get("/embed/views/overview", headers=headers)
    assert MARKER not in page.text
    assert "Hello from the shop" in page.text


async def test_views_with_parameters_are_rendered_every_time(app, client, open_session):
    headers = bearer(await open_session())
    await client.get("/embed/views/orders", headers=headers)
    mark_every_entry(app)
    page = await client.get("/embed/views/orders", params={"cursor": ""}, headers=headers)
    assert MARKER not in page.text
    assert len(app.state.view_cache) == 1


async def test_a_read_only_session_never_gets_a_full_sessions_fragment(app, client, open_session):
    full = await client.get("/embed/views/settings", headers=bearer(await open_session()))
    assert "<form" in full.text
    read_only = await client.get("/embed/views/settings", headers=bearer(await open_session(read_only=True)))
    assert "<form" not in read_only.text
    assert len(app.state.view_cache) == 2


async def test_fragments_age_out(app, client, open_session):
    with use_clock(FrozenClock(datetime.now(UTC))) as clock:
        headers = bearer(await open_session())
        await client.get("/embed/views/wallet", headers=headers)
        mark_every_entry(app)
        clock.advance(timedelta(seconds=59))
        assert (await client.get("/embed/views/wallet", headers=headers)).text == MARKER
        clock.advance(timedelta(seconds=1))
        assert MARKER not in (await client.get("/embed/views/wallet", headers=headers)).text


async def test_a_deleted_customer_is_not_served_from_the_cache(app, client, open_session, customer):
    headers = bearer(await open_session())
    await client.get("/embed/views/wallet", headers=headers)
    await Customer.update({Customer.deleted_at: datetime.now(UTC)}).where(Customer.id == customer.id)
    response = await client.get("/embed/views/wallet", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"code": "session_expired"}


async def test_views_opened_from_the_cache_are_counted(client, open_session, api_headers):
    headers = bearer(await open_session())
    for _ in range(3):
        assert (await client.get("/embed/views/usage", headers=headers)).status_code == 200
    report = await client.get("/v1/analytics/portal", headers=api_headers)
    assert report.json()["views_per_section"] == {"usage": 3}


async def test_a_cold_view_asked_for_at_once_is_rendered_once(app, client, open_session, monkeypatch):
    wallet = VIEWS["wallet"]
    loads = []

    async def counting_load(ctx, params):
        loads.append(ctx.customer.id)
        await asyncio.sleep(0.05)  # long enough for every request to arrive while it renders
        return await wallet.load(ctx, params)

    monkeypatch.setitem(VIEWS, "wallet", dataclasses.replace(wallet, load=counting_load))
    headers = bearer(await open_session())
    pages = await asyncio.gather(*(client.get("/embed/views/wallet", headers=headers) for _ in range(10)))
    assert {page.status_code for page in pages} == {200}
    assert len({page.text for page in pages}) == 1
    assert len(loads) == 1


async def test_a_failed_render_is_not_kept(app, client, open_session, monkeypatch):
    wallet = VIEWS["wallet"]

    async def failing_load(ctx, params):
        raise RuntimeError("the database went away")

    monkeypatch.setitem(VIEWS, "wallet", dataclasses.replace(wallet, load=failing_load))
    headers = bearer(await open_session())
    assert (await client.get("/embed/views/wallet", headers=headers)).status_code == 500
    monkeypatch.setitem(VIEWS, "wallet", wallet)
    page = await client.get("/embed/views/wallet", headers=headers)
    assert page.status_code == 200
    assert "You have no credit yet." in page.text
