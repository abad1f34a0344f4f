"""A pseudo-locale renders every view of every demo customer, and the cancel flow's steps: each translated
message comes out wrapped in ⟦…⟧, so any visible word left outside the brackets reached the page without
going through translation. The merchant's and customers' own data (every string the demo stored), the
locale's month and day names, country and language names (Babel's, already in the reader's language) are
what may stand outside."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from babel import Locale
from babel.support import NullTranslations
from piccolo.table import Table

from server import i18n
from server.db import tables
from server.db.tables import Customer, Subscription
from server.demo.seed import seed_demo
from server.paths import DOCUMENTS_PREFIX
from server.tokens import mint_portal_token
from widgets import VIEWS

OPEN, CLOSE = "⟦", "⟧"
TRANSLATED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
WORD = re.compile(r"[^\W\d_]{2,}")
CODE = re.compile(r"\d")
"""A token with a digit in it is a code (a card's expiry, an invoice number), not words of a language."""
LICENSE_KEY = re.compile(r"[a-z]*(?:-[a-z2-9]{5}){4}")
"""A licence key is a code even when its random groups drew no digit (kept encrypted, so not in the data)."""
SHOWN_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description", "data-confirm"}
HIDDEN = {"script", "style"}


class Pseudo(NullTranslations):
    """Every message, its words and placeholders kept, between ⟦ and ⟧."""

    def gettext(self, message: str) -> str:
        return f"{OPEN}{message}{CLOSE}"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return f"{OPEN}{singular if n == 1 else plural}{CLOSE}"


class Shown(HTMLParser):
    """The text a person reads or hears on a page: text nodes outside scripts and styles, labels in
    attributes, and the words on buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.inside: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self.inside.append(tag)
        found = dict(attrs)
        self.texts += [value for name, value in attrs if name in SHOWN_ATTRIBUTES and value]
        if tag == "input" and found.get("type") in {"submit", "button"} and found.get("value"):
            self.texts.append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if self.inside and self.inside[-1] == tag:
            self.inside.pop()

    def handle_data(self, data: str) -> None:
        if not self.inside and data.strip():
            self.texts.append(data)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        if value[:1] in "[{":
            with contextlib.suppress(ValueError):
                yield from _strings(json.loads(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


async def _demo_data(org_id: uuid.UUID) -> list[str]:
    """Every string the demo stored for its merchant, longest first (so a longer one goes before its
        parts); and what Babel names in each shipped locale: months, days, countries, currency symbols,
    day periods (AM), languages."""
    found: set[str] = set()
    for table in vars(tables).values():
        if isinstance(table, type) and issubclass(table, Table) and table is not Table:
            column = getattr(table, "org", None) if table is not tables.Organization else table.id
            if column is None:
                continue
            for row in await table.select().where(column == org_id):
                for value in row.values():
                    found.update(s.strip() for s in _strings(value) if len(s.strip()) > 1)
    for code in i18n.SUPPORTED:
        locale = Locale.parse(code)
        for names in (*locale.months.values(), *locale.days.values(), *locale.day_periods.values()):
            for width in names.values():
                found.update(width.values())
        found.update(locale.territories.values())
        found.update(locale.currency_symbols.values())
    found.update(name for _, name in i18n.language_choices())
    return sorted({value.lower() for value in found}, key=len, reverse=True)


def untranslated(html: str, data: list[str]) -> list[str]:
    """The words of ``html`` that no translated message and no stored data accounts for (``data`` in lower
    case: a template may capitalise a stored unit or card brand)."""
    shown = Shown()
    shown.feed(html)
    left = []
    for text in shown.texts:
        rest = text
        while TRANSLATED.search(rest):
            rest = TRANSLATED.sub(" ", rest)
        rest = rest.lower()
        for value in data:
            if value in rest:  # a quick look first; then only where it stands as whole words
                rest = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", rest)
        words = [t for t in rest.split() if not CODE.search(t) and not LICENSE_KEY.fullmatch(t)]
        if any(WORD.search(token) for token in words):
            left.append(" ".join(text.split()))
    return left


@pytest.fixture(scope="module")
async def demo(engine, keyring):
    created = await seed_demo(keyring, slug=f"pseudo-{uuid.uuid4().hex[:8]}", name="Acme")
    assert created is not None
    return created


@pytest.fixture
def pseudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_active", Pseudo)


async def _session(client, demo, customer_id) -> dict[str, str]:
    token = mint_portal_token(org_id=demo.org.id, customer_id=customer_id, secret=demo.embed_secret)
    response = await client.post("/embed/session", json={"token": token, "origin": "http://127.0.0.1:8001"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['session']}"}


def test_the_pseudo_locale_finds_a_word_left_untranslated():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(i18n, "_active", Pseudo)
        said = i18n.gettext("Orders")
    page = (
        f'<main><h1>{said}</h1><p title="Close">Acme</p><script>var x = "words";</script>'
        "<code>ACME-GAMMU-HNZJV-JMDAP-LGPLA</code><p>ACME-GAMMU is not a key</p></main>"
    )
    assert untranslated(page, ["acme"]) == ["Close", "ACME-GAMMU is not a key"]


async def test_every_view_and_the_cancel_flow_speak_only_through_translation(client, demo, pseudo):
    data = await _demo_data(demo.org.id)
    customers = await Customer.select(Customer.id).where(Customer.org == demo.org.id)
    problems: dict[str, set[str]] = {}
    pages = 0
    for customer in customers:
        headers = await _session(client, demo, customer["id"])
        asked: list[tuple[str, dict[str, str]]] = [(slug, {}) for slug in VIEWS]
        live = await Subscription.select(Subscription.id).where(
            Subscription.customer == customer["id"], Subscription.status == "active"
        )
        for sub in live[:1]:
            cancel = {"action": "cancel", "subscription_id": str(sub["id"])}
            review = {**cancel, "step": "review", "when": "period_end", "reason": "too_expensive"}
            asked += [("subscriptions", cancel), ("subscriptions", review)]
        for slug, params in asked:
            response = await client.get(f"/embed/views/{slug}", params=params, headers=headers)
            assert response.status_code == 200, (slug, params, response.text[:300])
            assert OPEN in response.text
            pages += 1
            for word in untranslated(response.text, data):
                problems.setdefault(f"{slug} {params.get('step', params.get('action', ''))}", set()).add(word)
    assert pages > 2 * len(VIEWS)
    assert problems == {}, "\n".join(f"{where}: {sorted(words)}" for where, words in problems.items())


async def test_recent_activity_names_a_status_in_words_for_its_kind_of_thing(client, demo, pseudo):
    """A status is stored as a code ("pending"), so the demo-data allowance above lets it through: checked
    here. An order's "pending" is a payment due, a seat's an invitation."""
    ada = (
        await Customer.select(Customer.id)
        .where(Customer.org == demo.org.id, Customer.email == "ada@analytical-engines.example")
        .first()
    )
    page = await client.get("/embed/views/settings", headers=await _session(client, demo, ada["id"]))
    activity = page.text.split('id="activity"')[1]
    statuses = set(re.findall(r'<span class="ss-hint">\(([^)]*)\)</span>', activity))
    assert {f"{OPEN}Payment due{CLOSE}", f"{OPEN}Invited{CLOSE}", f"{OPEN}Paid{CLOSE}"} <= statuses
    assert {status for status in statuses if not TRANSLATED.fullmatch(status)} == set()


async def test_the_pages_around_the_views_speak_only_through_translation(client, demo, pseudo):
    """The hosted sign-in page, the iframe's shell, the page a refused origin sees, an expired link."""
    data = await _demo_data(demo.org.id)
    slug = demo.org.slug
    shell = {"view": "overview", "org": slug}
    pages = {
        "sign-in": await client.get(f"/portal/{slug}"),
        "shell": await client.get("/embed/", params={**shell, "origin": "http://127.0.0.1:8001"}),
        "refused": await client.get("/embed/", params={**shell, "origin": "https://elsewhere.example"}),
        "expired": await client.get(f"{DOCUMENTS_PREFIX}no-such-link"),
    }
    assert {name: page.status_code for name, page in pages.items()} == {
        "sign-in": 200,
        "shell": 200,
        "refused": 403,
        "expired": 410,
    }
    assert all(OPEN in page.text for page in pages.values())  # the pseudo-locale spoke on each
    problems = {name: found for name, page in pages.items() if (found := untranslated(page.text, data))}
    assert problems == {}
