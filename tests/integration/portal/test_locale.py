"""The portal's language is negotiated on every page: ``locale=`` first, then the customer's stored locale,
then the browser's languages (hosted pages), then the merchant's default; money and dates follow it."""

import re

from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import Organization
from server.schemas.portal_settings import dump_portal_settings, load_portal_settings
from server.wallet.service import credit
from tests.integration.portal.conftest import PARENT

HEADING = re.compile(r'<h1 id="ss-heading">([^<]+)</h1>')
ROOT = re.compile(r'<html lang="([^"]+)" dir="([^"]+)"')


async def _german_session(client, mint, org):
    german = await create_customer(org.org.id, CustomerCreate(email="lu@example.de", name="Lu", locale="de"))
    await credit(org.org.id, german.id, 123450, "EUR", "promotional", "Willkommen")
    response = await client.post(
        "/embed/session", json={"token": mint(customer_id=german.id), "origin": PARENT}
    )
    return {"Authorization": f"Bearer {response.json()['session']}"}


async def _set_default_locale(org, locale):
    row = await Organization.objects().where(Organization.id == org.org.id).first()
    settings = load_portal_settings(row)
    settings.default_locale = locale
    _, portal = dump_portal_settings(settings)
    await Organization.update({Organization.portal_settings: portal}).where(Organization.id == org.org.id)


async def test_the_embeds_locale_outranks_the_stored_one_for_words_money_and_dates(client, mint, org):
    headers = await _german_session(client, mint, org)
    german = await client.get("/embed/views/wallet", headers=headers)
    assert HEADING.search(german.text)[1] == "Guthaben"
    assert "1.234,50\xa0€" in german.text
    assert 'data-lang="de" data-dir="ltr" data-title="Kundenportal"' in german.text
    # the same customer's unchanged view, cached: the asked locale is part of what it is kept by
    english = await client.get("/embed/views/wallet", headers={**headers, "x-selfserve-locale": "en-GB"})
    assert HEADING.search(english.text)[1] == "Wallet"
    assert "€1,234.50" in english.text
    assert 'data-lang="en-GB" data-dir="ltr" data-title="Billing portal"' in english.text
    french = await client.get("/embed/views/wallet", headers={**headers, "x-selfserve-locale": "fr"})
    assert HEADING.search(french.text)[1] == "Portefeuille"
    assert "1\u202f234,50\xa0€" in french.text
    brazilian = await client.get("/embed/views/wallet", headers={**headers, "x-selfserve-locale": "pt-PT"})
    assert HEADING.search(brazilian.text)[1] == "Carteira"
    assert 'data-lang="pt-BR"' in brazilian.text
    unknown = await client.get("/embed/views/wallet", headers={**headers, "x-selfserve-locale": "tlh"})
    assert HEADING.search(unknown.text)[1] == "Guthaben"  # not spoken: the stored locale decides


async def test_the_merchants_default_applies_when_nothing_else_is_spoken(client, mint, org):
    await _set_default_locale(org, "de")
    italian = await create_customer(
        org.org.id, CustomerCreate(email="it@example.it", name="Gio", locale="it")
    )
    response = await client.post(
        "/embed/session",
        json={"token": mint(customer_id=italian.id), "origin": PARENT},
        headers={"x-selfserve-locale": ""},
    )
    assert response.json()["locale"] == "de"
    page = await client.get(
        "/embed/views/wallet", headers={"Authorization": f"Bearer {response.json()['session']}"}
    )
    assert HEADING.search(page.text)[1] == "Guthaben"
    shell = await client.get("/embed/", params={"view": "wallet", "origin": PARENT, "org": org.org.slug})
    assert ROOT.search(shell.text).groups() == ("de", "ltr")


async def test_the_embed_shell_speaks_its_locale_parameter(client):
    shell = await client.get("/embed/", params={"view": "wallet", "origin": PARENT, "locale": "de-CH"})
    assert ROOT.search(shell.text).groups() == ("de-CH", "ltr")
    assert 'data-locale="de-CH"' in shell.text
    assert "Wird geladen" in shell.text or "Laden" in shell.text


async def test_the_hosted_sign_in_page_follows_locale_then_the_browser(client, org):
    path = f"/portal/{org.org.slug}"
    browser_german = await client.get(path, headers={"accept-language": "it-IT, de;q=0.8, en;q=0.5"})
    assert ROOT.search(browser_german.text).groups() == ("de", "ltr")
    asked_english = await client.get(path, params={"locale": "en"}, headers={"accept-language": "de"})
    assert ROOT.search(asked_english.text).groups() == ("en", "ltr")
    await _set_default_locale(org, "de")
    nothing_spoken = await client.get(path, headers={"accept-language": "it"})
    assert ROOT.search(nothing_spoken.text).groups() == ("de", "ltr")


async def test_an_expired_download_link_speaks_the_browsers_language(client):
    page = await client.get("/embed/documents/nonsense", headers={"accept-language": "de-DE"})
    assert page.status_code == 410
    assert ROOT.search(page.text).groups() == ("de-DE", "ltr")
    assert "Dieser Download-Link ist abgelaufen" in page.text


async def test_the_merchants_own_wordings_replace_the_portals_per_locale(client, mint, org, api_headers):
    wordings = {"de": {"Wallet": "Prepaid-Guthaben", "Welcome aboard.": "Willkommen an Bord."}}
    patched = await client.patch(
        "/v1/portal-settings",
        json={"welcome_message": "Welcome aboard.", "wordings": wordings},
        headers=api_headers,
    )
    assert patched.status_code == 200, patched.text
    headers = await _german_session(client, mint, org)
    wallet = await client.get("/embed/views/wallet", headers=headers)
    assert HEADING.search(wallet.text)[1] == "Prepaid-Guthaben"
    overview = await client.get("/embed/views/overview", headers=headers)
    assert "Willkommen an Bord." in overview.text
    english = await client.get("/embed/views/wallet", headers={**headers, "x-selfserve-locale": "en"})
    assert HEADING.search(english.text)[1] == "Wallet"


async def test_wordings_must_keep_their_placeholders_and_a_spoken_locale(client, api_headers):
    for wordings in (
        {"de": {"Hello %(name)s!": "Hallo!"}},
        {"de": {"%(amount)s so far": "%(amount)s, 5% bisher"}},
        {"it": {"Wallet": "Portafoglio"}},
        {"de": {"Wallet": " "}},
    ):
        response = await client.patch("/v1/portal-settings", json={"wordings": wordings}, headers=api_headers)
        assert response.status_code == 422, wordings


async def test_the_embed_without_an_origin_says_so_in_its_locale(client):
    refused = await client.get("/embed/", params={"view": "wallet", "origin": "", "locale": "es"})
    assert refused.status_code == 400
    assert refused.text == "Esta página solo se puede mostrar dentro de una página que indique su origen."
