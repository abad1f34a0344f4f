"""Signing in and connecting accounts through GitHub (the stand-in) and OpenID Connect (oidc-provider-mock),
over real HTTP to the providers, with a client that keeps cookies and follows redirects like a browser.
The same journeys run in Chromium in tests/browser/test_oauth.py; these cover the refusals in detail."""

from __future__ import annotations

import logging
import re
import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import msgspec
import pytest

from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import ConnectedAccount, PortalEvent, PortalSession, WebhookEvent
from server.tokens import mint_portal_token

SLUG_PAGE = re.compile(r"/portal/[\w-]+\?view=(\w+)")


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append({"action": found.get("action"), "fields": {}})
        elif tag == "input" and self.forms and found.get("name"):
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            fields[found["name"]] = found.get("value") or ""


async def submit(browser, page, **typed):
    """Submit the page's first form with ``typed`` filled in, as a person would."""
    parser = _Forms()
    parser.feed(page.text)
    form = parser.forms[0]
    url = str(page.url)
    if form["action"]:
        url = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}{form['action']}"
    return await browser.go("POST", url, data={**form["fields"], **typed})


async def configure_github(api, github):
    client_id, secret = github.register_app()
    assert (
        await api.put("/v1/oauth-providers/github", json={"client_id": client_id, "client_secret": secret})
    ).status_code == 200


async def configure_oidc(api, openid_provider):
    body = {"client_id": "selfserve", "client_secret": "s3cret", "issuer": openid_provider.url}
    assert (await api.put("/v1/oauth-providers/oidc", json=body)).status_code == 200


async def github_sign_in(browser, org, github, login: str, intent: str = ""):
    """Start on the portal, authorize as ``login`` on GitHub's page; the response the callback leads to."""
    query = f"?intent={intent}" if intent else ""
    authorize = await browser.go("GET", f"/portal/{org.org.slug}/oauth/github/start{query}")
    assert authorize.url.path == "/login/oauth/authorize", authorize.text
    return await submit(browser, authorize, login=login)


async def openid_sign_in(browser, org, sub: str, intent: str = ""):
    query = f"?intent={intent}" if intent else ""
    authorize = await browser.go("GET", f"/portal/{org.org.slug}/oauth/oidc/start{query}")
    assert authorize.url.path == "/oauth2/authorize", authorize.text
    return await submit(browser, authorize, sub=sub)


def signed_in(page) -> str | None:
    """The view the hosted portal shows after a redirect chain, or None when it is not signed in."""
    return page.text.split('data-view="', 1)[1].split('"', 1)[0] if "data-csrf=" in page.text else None


async def test_github_signs_in_the_customer_with_its_primary_verified_email(
    api, browser, org, customer, github
):
    await configure_github(api, github)
    github.add_user("ada-" + uuid.uuid4().hex[:6], customer.email.upper())
    login = next(reversed(github.users))

    page = await github_sign_in(browser, org, github, login)

    assert page.status_code == 200
    assert signed_in(page) == "overview"
    start = next(u for u in browser.history if "/login/oauth/authorize?" in u)
    params = parse_qs(urlsplit(start).query)
    assert params["code_challenge_method"] == ["S256"]
    assert params["redirect_uri"] == [f"http://127.0.0.1:8000/portal/{org.org.slug}/oauth/github/callback"]
    assert "ss_oauth" not in browser.cookies["127.0.0.1:8000"]  # the flow's cookie is gone
    [session] = await PortalSession.select().where(PortalSession.customer == customer.id)
    assert session["expires_at"] - session["created_at"] == __import__("datetime").timedelta(days=30)
    [opened] = await PortalEvent.select(PortalEvent.properties).where(
        PortalEvent.customer == customer.id, PortalEvent.name == "session.opened"
    )
    props = opened["properties"]
    assert (msgspec.json.decode(props) if isinstance(props, str) else props) == {"via": "oauth:github"}


async def test_an_unverified_email_gets_the_same_answer_as_an_unknown_one(
    api, browser, org, customer, github
):
    await configure_github(api, github)
    unverified = "u-" + uuid.uuid4().hex[:6]
    stranger = "s-" + uuid.uuid4().hex[:6]
    github.add_user(unverified, customer.email, verified=False)
    github.add_user(stranger, f"{stranger}@example.com")

    answers = [await github_sign_in(browser, org, github, login) for login in (unverified, stranger)]

    pages = []
    for answer, email in zip(answers, (customer.email, f"{stranger}@example.com"), strict=True):
        assert answer.status_code == 202
        assert signed_in(answer) is None
        assert "Check your email" in answer.text
        pages.append(main_of(answer).replace(email, "EMAIL"))
    assert pages[0] == pages[1]
    assert await PortalSession.count().where(PortalSession.customer == customer.id) == 0


async def test_a_wrong_state_a_replay_and_a_missing_flow_cookie_are_refused(
    api, browser, org, customer, github, caplog
):
    caplog.set_level(logging.INFO, logger="selfserve.oauth")
    await configure_github(api, github)
    login = "w-" + uuid.uuid4().hex[:6]
    github.add_user(login, customer.email)

    authorize = await browser.go("GET", f"/portal/{org.org.slug}/oauth/github/start")
    back = await browser.request("POST", str(authorize.url), data={**_hidden(authorize), "login": login})
    callback = back.headers["location"]
    query = parse_qs(urlsplit(callback).query)
    forged = callback.split("?")[0] + "?" + urlencode({"code": query["code"][0], "state": "not-the-state"})
    wrong = await browser.go("GET", forged)
    assert wrong.status_code == 400
    assert "did not work" in wrong.text
    assert signed_in(wrong) is None
    assert "mismatching_state" in caplog.text

    # the flow's cookie is spent with the refused attempt: the real callback is refused as well
    late = await browser.go("GET", callback)
    assert signed_in(late) is None

    authorize = await browser.go("GET", f"/portal/{org.org.slug}/oauth/github/start")
    back = await browser.request("POST", str(authorize.url), data={**_hidden(authorize), "login": login})
    flow_cookie = browser.cookies["127.0.0.1:8000"]["ss_oauth"]
    assert signed_in(await browser.go("GET", back.headers["location"])) == "overview"
    # the same callback again, even with the flow's cookie put back: its state was burnt
    browser.cookies["127.0.0.1:8000"]["ss_oauth"] = flow_cookie
    replayed = await browser.go("GET", back.headers["location"])
    assert signed_in(replayed) is None
    assert "did not work" in replayed.text
    assert "this sign-in was already used" in caplog.text

    elsewhere = await browser.go("GET", back.headers["location"].replace("code=", "code=x"))
    assert elsewhere.status_code == 400  # no flow cookie any more: a callback from another browser


async def test_several_customers_with_the_email_choose_one(api, browser, org, customer, github):
    await configure_github(api, github)
    other = await create_customer(org.org.id, CustomerCreate(email=customer.email, name="Ada at work"))
    login = "c-" + uuid.uuid4().hex[:6]
    github.add_user(login, customer.email)

    chooser = await github_sign_in(browser, org, github, login)
    assert "Choose an account" in chooser.text
    chosen = await browser.go(
        "POST",
        f"/portal/{org.org.slug}/choose",
        data={"ticket": _hidden(chooser)["ticket"], "customer": str(other.id)},
        headers={"origin": "http://127.0.0.1:8000", "sec-fetch-site": "same-origin"},
    )
    assert signed_in(chosen) == "overview"
    assert await PortalSession.count().where(PortalSession.customer == other.id) == 1


async def test_openid_connect_signs_in_checks_the_nonce_and_refuses_unverified_emails(
    api, browser, org, customer, openid_provider, caplog
):
    caplog.set_level(logging.INFO, logger="selfserve.oauth")
    await configure_oidc(api, openid_provider)
    sub = "ada-" + uuid.uuid4().hex[:6]
    openid_provider.set_user(sub, email=customer.email, email_verified=True)
    assert signed_in(await openid_sign_in(browser, org, sub)) == "overview"

    # a nonce other than the one the portal sent (the authorization request altered on the way)
    authorize = await browser.go("GET", f"/portal/{org.org.slug}/oauth/oidc/start")
    altered = str(authorize.url).replace("nonce=", "nonce=x", 1)
    page = await browser.go("GET", altered)
    refused = await submit(browser, page, sub=sub)
    assert signed_in(refused) is None
    assert "did not work" in refused.text
    assert "Invalid claim: 'nonce'" in caplog.text

    unverified = "u-" + uuid.uuid4().hex[:6]
    openid_provider.set_user(unverified, email=customer.email, email_verified=False)
    neutral = await openid_sign_in(browser, org, unverified)
    assert neutral.status_code == 202
    assert "Check your email" in neutral.text


async def test_connect_then_sign_in_with_another_email_then_disconnect(
    api, browser, org, customer, openid_provider, oauth_settings
):
    await configure_oidc(api, openid_provider)
    sub = "ada-" + uuid.uuid4().hex[:6]
    openid_provider.set_user(sub, email=customer.email, email_verified=True)
    assert signed_in(await openid_sign_in(browser, org, sub)) == "overview"

    work = "work-" + uuid.uuid4().hex[:6]
    openid_provider.set_user(work, email=f"{work}@corp.example", email_verified=True)
    same_site = {"sec-fetch-site": "same-origin"}
    authorize = await browser.go(
        "GET", f"/portal/{org.org.slug}/oauth/oidc/start?intent=connect", headers=same_site
    )
    settings_page = await submit(browser, authorize, sub=work)
    assert signed_in(settings_page) == "settings"
    assert "notice=connected" in browser.history[-1]
    [account] = await ConnectedAccount.select().where(ConnectedAccount.customer == customer.id)
    assert (account["provider"], account["subject"], account["email"]) == (
        "oidc",
        work,
        f"{work}@corp.example",
    )
    listed = await api.get(f"/v1/customers/{customer.id}/connected-accounts")
    assert [(a["provider"], a["subject"]) for a in listed.json()["items"]] == [("oidc", work)]
    fragment = await browser.go("GET", "/embed/views/settings?notice=connected&provider=oidc")
    assert "is connected" in fragment.text
    assert f"{work}@corp.example" in fragment.text

    browser.cookies.clear()
    by_work_account = await openid_sign_in(browser, org, work)
    assert signed_in(by_work_account) == "overview"  # not the customer's email: the connection signs in

    csrf = by_work_account.text.split('data-csrf="', 1)[1].split('"', 1)[0]
    gone = await browser.request(
        "POST",
        "/embed/views/settings/disconnect_sign_in",
        data={"provider": "oidc"},
        headers={"x-csrf-token": csrf},
    )
    assert gone.status_code == 200, gone.text
    assert "is disconnected" in gone.text
    assert await ConnectedAccount.count().where(ConnectedAccount.customer == customer.id) == 0
    events = await WebhookEvent.select(WebhookEvent.type, WebhookEvent.payload).where(
        WebhookEvent.org == org.org.id, WebhookEvent.type == "customer.updated"
    )
    assert len(events) == 2
    activity = await PortalEvent.select(PortalEvent.actor, PortalEvent.properties).where(
        PortalEvent.customer == customer.id, PortalEvent.name == "customer.updated"
    )
    details = [
        msgspec.json.decode(a["properties"]) if isinstance(a["properties"], str) else a["properties"]
        for a in activity
    ]
    assert sorted(d["action"] for d in details) == ["account_connected", "account_disconnected"]
    assert {a["actor"] for a in activity} == {"customer"}

    browser.cookies.clear()
    after = await openid_sign_in(browser, org, work)
    assert signed_in(after) is None
    assert "Check your email" in after.text


async def test_connecting_must_start_on_the_portal_and_in_a_session(
    api, browser, org, customer, openid_provider
):
    await configure_oidc(api, openid_provider)
    cross_site = await browser.request(
        "GET",
        f"/portal/{org.org.slug}/oauth/oidc/start?intent=connect",
        headers={"sec-fetch-site": "cross-site"},
    )
    assert cross_site.status_code == 303
    assert cross_site.headers["location"].startswith(f"/portal/{org.org.slug}")
    no_session = await browser.request(
        "GET",
        f"/portal/{org.org.slug}/oauth/oidc/start?intent=connect",
        headers={"sec-fetch-site": "same-origin"},
    )
    assert no_session.headers["location"] == f"/portal/{org.org.slug}"
    assert "ss_oauth" not in browser.cookies.get("127.0.0.1:8000", {})


@pytest.mark.parametrize("provider", ["github", "nosuch"])
async def test_a_provider_the_merchant_does_not_offer_is_a_friendly_page(browser, org, provider):
    page = await browser.go("GET", f"/portal/{org.org.slug}/oauth/{provider}/start")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Email me a sign-in link" in page.text


def main_of(page) -> str:
    """What the page shows (its ``<main>``), without the per-response nonces around it."""
    return page.text.split("<main", 1)[1].split("</main>", 1)[0]


def _hidden(page) -> dict[str, str]:
    parser = _Forms()
    parser.feed(page.text)
    fields = parser.forms[0]["fields"]
    assert isinstance(fields, dict)
    return fields


async def test_an_embed_says_where_to_manage_accounts_and_its_cached_view_is_not_the_hosted_one(
    api, browser, org, customer, openid_provider
):
    await configure_oidc(api, openid_provider)
    token = mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret)
    opened = await browser.request(
        "POST", "/embed/session", json={"token": token, "origin": "https://app.example.com"}
    )
    bearer = {"authorization": f"Bearer {opened.json()['session']}"}
    embedded = await browser.request("GET", "/embed/views/settings", headers=bearer)
    assert "Open the billing portal" in embedded.text
    assert "intent=connect" not in embedded.text
    refused = await browser.request(
        "POST", "/embed/views/settings/disconnect_sign_in", data={"provider": "oidc"}, headers=bearer
    )
    assert refused.status_code == 403
    assert "Manage connected accounts on your billing portal." in refused.text

    # the same customer's settings on the hosted page, right after: not the embed's cached fragment
    sub = "ada-" + uuid.uuid4().hex[:6]
    openid_provider.set_user(sub, email=customer.email, email_verified=True)
    assert signed_in(await openid_sign_in(browser, org, sub)) == "overview"
    hosted = await browser.request("GET", "/embed/views/settings")
    assert f"/portal/{org.org.slug}/oauth/oidc/start?intent=connect" in hosted.text
    assert "Open the billing portal" not in hosted.text
