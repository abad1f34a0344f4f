"""Portal settings in the console: saved through the same service and validation as the API, a preview
that is the real embedded portal (read-only, not counted), brand variables for the live preview, and the
embed snippets."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import urlencode

from server.analytics.portal_analytics import SESSION_OPENED
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import PortalEvent
from server.enums import StaffRole

FORM = {
    "primary_color": "#b45309",
    "background_color": "#ffffff",
    "text_color": "#111827",
    "radius": "12px",
    "font_family": "system-ui, sans-serif",
    "default_theme": "light",
    "welcome_message": "Hello from the console",
    "default_locale": "pt-BR",
    "support_url": "https://help.example.com",
    "sections": ["overview", "subscriptions", "orders", "settings"],
    "cancellation_reasons": ["too_expensive", "other"],
    "immediate_cancel_refund": "wallet",
    "pause": "1",
    "allowed_origins": "https://app.example.com\nhttps://shop.example.org",
}


async def test_an_admin_saves_what_the_api_then_returns(staff_as, client, api_headers):
    admin = await staff_as(StaffRole.ADMIN)
    saved = await admin.post("/console/portal", FORM)
    assert saved.status_code == 200, saved.text
    assert "Portal settings saved." in saved.text
    api = (await client.get("/v1/portal-settings", headers=api_headers)).json()
    assert api["branding"]["primary_color"] == "#b45309"
    assert api["branding"]["default_theme"] == "light"
    assert api["welcome_message"] == "Hello from the console"
    assert api["default_locale"] == "pt-BR"
    assert '<option value="pt-BR" lang="pt-BR" selected>português (Brasil)</option>' in saved.text
    assert api["links"]["support_url"] == "https://help.example.com"
    assert api["links"]["terms_url"] is None
    assert (api["sections"]["wallet"], api["sections"]["usage"], api["sections"]["orders"]) == (
        False,
        False,
        True,
    )
    assert api["features"]["cancellation_reasons"] == ["too_expensive", "other"]
    assert (api["features"]["immediate_cancel"], api["features"]["pause"]) == (False, True)
    assert api["allowed_origins"] == ["https://app.example.com", "https://shop.example.org"]


async def test_an_invalid_value_saves_nothing_and_keeps_what_was_typed(staff_as, client, api_headers):
    admin = await staff_as(StaffRole.ADMIN)
    before = (await client.get("/v1/portal-settings", headers=api_headers)).json()
    refused = await admin.post("/console/portal", {**FORM, "primary_color": "red;}"})
    assert refused.status_code == 422
    assert "branding.primary_color" in refused.text
    assert 'value="red;}"' in html.unescape(refused.text)
    bad_origin = await admin.post("/console/portal", {**FORM, "allowed_origins": "*"})
    assert bad_origin.status_code == 422
    assert (await client.get("/v1/portal-settings", headers=api_headers)).json() == before


async def test_a_viewer_sees_the_settings_without_a_save_button_and_may_not_save(staff_as):
    viewer = await staff_as(StaffRole.VIEWER)
    page = (await viewer.get("/console/portal")).text
    assert "Brand colour" in page
    assert "Save portal settings" not in page
    assert (await viewer.post("/console/portal", FORM)).status_code == 403


async def test_the_theme_endpoint_answers_the_portals_variables_or_422(staff_as):
    viewer = await staff_as(StaffRole.VIEWER)
    light = await viewer.get(
        "/console/portal/theme", params={"primary_color": "#fde047", "default_theme": "dark"}
    )
    assert light.json()["variables"]["--ss-primary"] == "#fde047"
    assert light.json()["variables"]["--ss-on-primary"] == "#111827"  # dark text on yellow
    assert light.json()["theme"] == "dark"
    assert (await viewer.get("/console/portal/theme", params={"primary_color": "url(x)"})).status_code == 422


async def test_the_preview_is_the_embedded_portal_read_only_and_not_counted(org, staff_as, client, settings):
    customer = await create_customer(
        org.org.id, CustomerCreate(email=f"p-{uuid.uuid4().hex[:6]}@example.com")
    )
    viewer = await staff_as(StaffRole.VIEWER)
    page = (await viewer.get("/console/portal")).text
    src = html.unescape(re.search(r'<iframe id="sc-preview" src="([^"]+)"', page).group(1))
    assert src.startswith("/embed?" + urlencode({"view": "overview", "origin": settings.public_origin}))
    token = src.split("#token=")[1]
    session = await client.post("/embed/session", json={"token": token, "origin": settings.public_origin})
    assert session.status_code == 201
    bearer = {"authorization": f"Bearer {session.json()['session']}"}
    view = await client.get("/embed/views/settings", headers=bearer)
    assert customer.email in view.text
    refused = await client.post(
        "/embed/views/settings/update_billing", data={"billing_name": "x"}, headers=bearer
    )
    assert refused.status_code == 403
    assert not await PortalEvent.exists().where(
        PortalEvent.customer == customer.id, PortalEvent.name == SESSION_OPENED
    )


async def test_the_snippets_name_the_chosen_origin_view_and_theme(staff_as, settings):
    viewer = await staff_as(StaffRole.VIEWER)
    page = html.unescape(
        (
            await viewer.get(
                "/console/portal",
                params={"origin": "http://localhost:3000", "view": "orders", "theme": "dark"},
            )
        ).text
    )
    assert f'<script src="{settings.public_origin}/static/loader.js" async></script>' in page
    assert '<selfserve-portal view="orders" theme="dark"></selfserve-portal>' in page
    assert 'view: "orders", theme: "dark"' in page
    query = urlencode({"view": "orders", "origin": "http://localhost:3000", "theme": "dark"})
    assert f"{settings.public_origin}/embed?{query}#token=" in page
