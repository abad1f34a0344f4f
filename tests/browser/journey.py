"""What the journeys stand on: the merchant's side (its API, used to set a customer up before a journey and
to read what happened after it) and the person's side (a portal they opened, hosted or embedded, and what
they see in it)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Dialog, FrameLocator, Locator, Page, expect

from tests.browser.conftest import Stack
from tests.browser.support import mount_script, sign_in_hosted, wait_event

MODES = ("hosted", "embedded")
GOOD_CARD = "4242 4242 4242 4242"
FAILING_CARD = "4000 0000 0000 0341"
"""Saved fine; every charge to it is declined."""
CARD_YEAR = datetime.now(UTC).year + 3


def money(cents: int) -> str:
    """An amount in US dollars as an English reader sees it."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def day(moment: str | datetime) -> str:
    """A date as an English reader sees it (Babel's medium format: ``Jul 4, 2026``)."""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return f"{when:%b} {when.day}, {when.year}"


def cents(text: str) -> int:
    """The first dollar amount in ``text``, in cents."""
    found = re.search(r"\$([\d,]+\.\d\d)", text)
    assert found, f"no amount in {text!r}"
    return int(found.group(1).replace(",", "").replace(".", ""))


@dataclass
class Customer:
    id: str
    email: str
    name: str
    card_id: str | None
    subscription: dict[str, Any] | None

    @property
    def sub(self) -> dict[str, Any]:
        """The subscription made for this customer (as the API answered when it was made)."""
        assert self.subscription is not None, f"{self.email} has no subscription"
        return self.subscription


@dataclass
class Merchant:
    """The merchant's backend: its secret API key and nothing else."""

    stack: Stack
    http: httpx.AsyncClient

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def price(self, product: str, interval: str = "month") -> dict[str, Any]:
        for item in (await self.get("/v1/products", limit=100))["items"]:
            if item["name"] == product:
                for price in item["prices"]:
                    if price["interval"] == interval and price["archived_at"] is None:
                        return dict(price)
        raise AssertionError(f"the demo catalog has no {product} price per {interval}")

    async def customer(
        self,
        label: str,
        *,
        card: str | None = GOOD_CARD,
        plans: tuple[str, ...] = (),
        seats: int = 1,
        **fields: Any,
    ) -> Customer:
        """A new customer with a saved card and a paid subscription to each of ``plans`` (monthly, no
        trial), made as a merchant's backend makes them; the host page can mint tokens for them."""
        email = f"{label}-{secrets.token_hex(4)}@journeys.example"
        name = f"{label.replace('-', ' ').title()} Person"
        created = await self.post("/v1/customers", {"email": email, "name": name, **fields})
        card_id = None
        if card:
            method = f"/v1/customers/{created['id']}/payment-methods"
            saved = await self.post(
                method, {"number": card, "exp_month": 12, "exp_year": CARD_YEAR, "cvc": "123"}
            )
            card_id = saved["id"]
        subscription = None
        for product in plans:
            price = await self.price(product)
            subscription = await self.post(
                "/v1/subscriptions",
                {
                    "customer_id": created["id"],
                    "price_id": price["id"],
                    "seats": seats if price["kind"] == "per_seat" else 1,
                    "trial_days": 0,
                },
            )
        self.stack.customers[email] = created["id"]
        return Customer(created["id"], email, name, card_id, subscription)

    async def orders(self, customer: Customer) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.get("/v1/orders", customer_id=customer.id, limit=100))[
            "items"
        ]
        return items

    async def subscription(self, subscription_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.get(f"/v1/subscriptions/{subscription_id}")
        return found


@dataclass
class Watch:
    """What went wrong on a page, seen or not: console errors, uncaught script errors, 4xx/5xx answers from
    the stack and JSON shown as a page; and the confirmations it asked (accepted, or dismissed while
    ``accept`` is off)."""

    origins: tuple[str, ...]
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    accept: bool = True
    """How the next confirmations are answered: OK, or Cancel (a person changing their mind)."""

    def attach(self, page: Page) -> None:
        def console(message: Any) -> None:
            if message.type == "error":
                self.problems.append(f"console: {message.text}")

        def response(answer: Any) -> None:
            if not answer.url.startswith(self.origins):
                return
            if answer.status >= 400:
                self.problems.append(f"{answer.status} {answer.request.method} {answer.url}")
            shown = answer.request.resource_type == "document" and answer.status < 300  # not a redirect
            if shown and "json" in answer.headers.get("content-type", ""):
                self.problems.append(f"raw JSON page: {answer.url}")

        async def dialog(asked: Dialog) -> None:
            self.dialogs.append(asked.message)
            await (asked.accept() if self.accept else asked.dismiss())

        page.on("console", console)
        page.on("response", response)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("dialog", dialog)


@dataclass
class Portal:
    """The portal a person opened, and what went wrong on the way that they may not see."""

    page: Page
    mode: str
    ui: Page | FrameLocator
    watch: Watch
    server_log: str = ""

    @classmethod
    async def open(cls, page: Page, mode: str, stack: Stack, email: str, view: str = "Overview") -> Portal:
        """Signed in on the hosted portal by the emailed link, or mounted on the merchant's page with
        loader.js; then the ``view`` section."""
        ui: Page | FrameLocator = page if mode == "hosted" else page.frame_locator("#billing iframe")
        watch = Watch((stack.portal_url, stack.merchant_url))
        portal = cls(page=page, mode=mode, ui=ui, watch=watch, server_log=stack.server_log)
        portal.watch.attach(page)
        if mode == "hosted":
            await sign_in_hosted(page, stack, email)
        else:
            assert stack.host is not None
            await page.goto(stack.host.page(mount_script(email)))
            await wait_event(page, "ready")
        if view != "Overview":
            await portal.go(view)
        return portal

    async def go(self, title: str) -> None:
        """Open a section from the portal's navigation and wait until its heading shows."""
        nav = self.ui.get_by_role("navigation", name="Billing sections")
        await nav.get_by_role("link", name=title, exact=True).click()
        await expect(self.ui.get_by_role("heading", level=1)).to_have_text(title)

    async def says(self, text: str) -> None:
        """The portal's live message, once it shows ``text``. When it does not, the failure also says whether
        the portal was still waiting for an answer and what the server logged last."""
        try:
            await expect(self.ui.locator(".ss-live")).to_contain_text(text)
        except AssertionError as missing:
            busy = await self.ui.locator("#ss-root[aria-busy=true]").count()
            log = Path(self.server_log).read_text().splitlines()[-20:] if self.server_log else []
            raise AssertionError(f"{missing}\nwaiting for an answer: {busy > 0}\n" + "\n".join(log))

    async def add_card(self, number: str, month: str, year: str) -> Locator:
        """On Settings: save a card that does not become the default; the payment methods it is listed in."""
        cards = self.ui.locator("#payment-methods")
        await cards.get_by_text("Add a card").click()
        await cards.get_by_label("Card number").fill(number)
        await cards.get_by_label("Month (MM)").fill(month)
        await cards.get_by_label("Year (YYYY)").fill(year)
        await cards.get_by_label("Security code").fill("321")
        await cards.get_by_label("Use as default for future payments").uncheck()
        await cards.get_by_role("button", name="Save card").click()
        await self.says("Card added.")
        return cards

    async def invite(self, email: str) -> Locator:
        """On Subscriptions: give ``email`` a seat on the team; the team's seats section."""
        team = self.ui.get_by_role("region", name=re.compile("^Team seats"))
        await team.get_by_label("Invite by email").fill(email)
        await team.get_by_role("button", name="Send invitation").click()
        await self.says(f"Invitation sent to {email}.")
        return team

    def card(self, heading: str) -> Locator:
        """The card (article) whose heading is ``heading``."""
        return self.ui.get_by_role("article").filter(
            has=self.ui.get_by_role("heading", name=heading, exact=True)
        )

    def assert_clean(self) -> None:
        assert self.watch.problems == [], self.watch.problems
