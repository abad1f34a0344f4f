"""The demo, clicked through in Chromium: every demo customer (``server.demo.seed``, as ``make demo`` seeds
it) signs in as a person does, alternately on the demo merchant's account page (its embedded portal) and
on the hosted portal by the emailed link; then every view they have is opened and every control it offers
is used.

Controls are found by what they are (an action form, a flow link, a download, a copy button, ...), not by
their text, so a control the demo offers and this test does not know fails it. Flows are taken to their
review or preview step; the actions a person can take back, or that are the point of the demo (paying the
past-due customer's failed invoice, changing seats, adding a card), are completed, and their result checked
in the customer's own language (``server.i18n``). Nothing sets a header or injects a session.

The demo runs on a stack of its own, so the data is exactly what ``make demo`` seeds whatever ran before;
one merchant page and one hosted page serve every customer in turn.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.async_api import Frame, Locator, Page, expect

from server import i18n
from server.demo.data import PEOPLE, Person
from tests.browser.conftest import Stack
from tests.browser.journey import CARD_YEAR, GOOD_CARD, Watch
from tests.browser.support import LINK, emailed_sign_in, emails_to
from widgets import VIEWS

MODES = ("embedded", "hosted")
MODE = {person.email: MODES[index % 2] for index, person in enumerate(PEOPLE)}
"""Every other customer signs in on the hosted portal; the others open the demo merchant's account page."""
SEATS_CHANGED_BY = "ada@analytical-engines.example"
PLAN_CHANGED_BY = "grace@harbor-analytics.example"
CANCELED_BY = "noah@williams-woodworks.example"
SEAT_REVOKED_BY = "camille@atelier-lumiere.example"
DELETION_ASKED_BY = "zoe@fischer-labs.example"
NOT_IN_THE_DEMO = frozenset(
    {"disconnect_sign_in", "add_confirmed_card", "confirm_payment", "set_cap", "remove_cap"}
)
"""Actions no demo customer is offered: no sign-in provider is connected, the demo pays with the sandbox
provider (not Stripe's confirmed cards or its 3-D Secure confirmations) and its merchant lets no customer
edit spend caps."""
ANSWERS_TO_AN_OFFER = frozenset({"accept_offer", "decline_offer"})
"""Offered after a reason the merchant answers, which this walk never chooses (it backs out of the cancel
flow's review); tests/browser/test_retention_journey.py answers each kind of offer both ways."""
NOT_OFFERED_BY_THE_DEMO = {"older"}
"""Controls known here no demo customer has: no one has more than a page of orders."""
ANY = "QQANYQQ"
"""A value a message is checked without: ``Portal.pattern`` matches anything in its place."""

CONTROLS = """() => {
  const root = document.getElementById("ss-root");
  const kinds = {};
  const seen = new Set();
  const add = (kind, element) => { kinds[kind] = (kinds[kind] || 0) + 1; seen.add(element); };
  root.querySelectorAll("form[data-action]").forEach((f) => {
    add("action:" + f.dataset.action, f.querySelector("button[type=submit]"));
  });
  root.querySelectorAll(".ss-view a[data-query]").forEach((a) => {
    const query = new URLSearchParams(a.dataset.query);
    add(query.has("cursor") ? "older" : "flow:" + query.get("action"), a);
  });
  root.querySelectorAll("a[data-document]").forEach((a) => add("document", a));
  root.querySelectorAll("[data-copy]").forEach((b) => add("copy", b));
  root.querySelectorAll("details > summary").forEach((s) => add("details", s));
  root.querySelectorAll("a[target=_blank]").forEach((a) => add("external", a));
  root.querySelectorAll(".ss-view a[data-view]:not([data-query])").forEach((a) => add("link", a));
  root.querySelectorAll(".ss-nav a").forEach((a) => seen.add(a));
  root.querySelectorAll("button, a[href], input[type=submit]").forEach((element) => {
    if (!seen.has(element)) add("unknown: " + element.outerHTML.slice(0, 200), element);
  });
  return kinds;
}"""


@dataclass
class Demo:
    stack: Stack
    merchant: Page
    """The demo merchant's account page; its customer switcher is how a person signs in there."""
    hosted: Page
    watch: Watch
    used: set[str] = field(default_factory=set)
    """Every control kind (and action) used, over all customers."""
    customers_done: int = 0


@pytest.fixture(scope="module")
async def demo(stacks: Any, browser: Any) -> AsyncIterator[Demo]:
    async with stacks("smoke") as stack:
        context = await browser.new_context(viewport={"width": 1024, "height": 800})
        merchant, hosted = await context.new_page(), await context.new_page()
        watch = Watch((stack.portal_url, stack.merchant_url))
        watch.attach(merchant)
        watch.attach(hosted)
        await merchant.goto(stack.merchant_url + "/")
        yield Demo(stack, merchant, hosted, watch)
        await context.close()


class Portal:
    """One demo customer's portal, hosted or embedded, and what they read in their own language."""

    def __init__(self, demo: Demo, person: Person) -> None:
        self.demo, self.person = demo, person
        self.mode = MODE[person.email]
        self.page = demo.merchant if self.mode == "embedded" else demo.hosted
        self.locale = i18n.negotiate(person.locale)
        self.frame: Frame = self.page.main_frame
        self.view = "overview"
        self.unpaid = False
        """The subscriptions view said a payment failed."""

    def t(self, message: str, **variables: object) -> str:
        """``message`` as the portal shows it to this customer."""
        with i18n.use_locale(self.locale):
            return i18n.gettext(message, **variables)

    def n(self, singular: str, plural: str, num: int) -> str:
        with i18n.use_locale(self.locale):
            return i18n.ngettext(singular, plural, num)

    @staticmethod
    def pattern(*texts: str) -> re.Pattern[str]:
        """The message made of ``texts`` (translated, joined by spaces), whatever stands where ``ANY`` is."""
        return re.compile("^" + re.escape(" ".join(texts)).replace(ANY, ".+?") + "$")

    @property
    def root(self) -> Locator:
        return self.frame.locator("#ss-root")

    async def sign_in(self) -> None:
        stack = self.demo.stack
        if self.mode == "embedded":
            await self.page.get_by_label("Signed in as").select_option(stack.customers[self.person.email])
            async with self.page.expect_navigation():
                await self.page.get_by_role("button", name="Switch customer").click()
            handle = await self.page.wait_for_selector("selfserve-portal iframe")
            frame = await handle.content_frame()
            assert frame is not None
            self.frame = frame
        else:
            await self.page.context.clear_cookies()  # a person signing in after someone else on this browser
            start = f"/portal/{stack.slug}"
            await emailed_sign_in(self.page, stack, start, self.person.email, LINK, self.t("Sign out"))
        await self.rendered("overview")
        await expect(self.root.locator(".ss-welcome")).to_contain_text(
            self.t("Hello %(name)s!", name=self.person.name)
        )

    async def sign_out(self) -> None:
        if self.mode == "hosted":
            await self.page.get_by_role("button", name=self.t("Sign out")).click()
            await self.page.locator('input[name="email"]').wait_for()

    async def rendered(self, view: str) -> None:
        """``view`` shows, with its heading, as the current tab, and without an error."""
        self.view = view
        await expect(self.root.locator(".ss-view h1")).to_have_text(self.t(VIEWS[view].title))
        await expect(self.root.locator(f'.ss-nav a[data-view="{view}"]')).to_have_attribute(
            "aria-current", "page"
        )
        await self.no_error()

    async def no_error(self) -> None:
        await expect(self.root.locator(".ss-error, [role=alert]")).to_have_count(0)
        assert "Unknown card" not in await self.root.inner_text()

    async def rerendered(self, act: Awaitable[Any]) -> None:
        """Do ``act`` and wait until the portal drew its answer (the old view is gone)."""
        await self.page.bring_to_front()
        await self.root.locator(".ss-view").evaluate("(view) => view.setAttribute('data-old', '')")
        await act
        await self.root.locator(".ss-view:not([data-old])").wait_for()
        await expect(self.root).not_to_have_attribute("aria-busy", "true")

    async def open(self, view: str) -> None:
        await self.rerendered(self.root.locator(f'.ss-nav a[data-view="{view}"]').click())
        await self.rendered(view)

    async def submit(self, form: Locator, says: str | re.Pattern[str]) -> None:
        """Press ``form``'s button (a confirmation it asks is answered OK); the portal says ``says``."""
        self.demo.watch.accept = True
        await self.rerendered(form.locator("button[type=submit]").click())
        await expect(self.root.locator(".ss-live .ss-msg")).to_have_text(says)
        await self.no_error()

    async def change_mind(self, form: Locator) -> str:
        """Press ``form``'s button and answer its confirmation Cancel; what it asked. Nothing is sent."""
        self.demo.watch.accept = False  # until the next submit: the watch may answer after this returns
        async with self.page.expect_event("dialog") as asked:
            await form.locator("button[type=submit]").click()
        question: str = (await asked.value).message
        await self.no_error()
        return question

    def form(self, action: str, within: Locator | None = None) -> Locator:
        return (within or self.root).locator(f'form[data-action="{action}"]')

    async def controls(self) -> dict[str, int]:
        kinds: dict[str, int] = await self.root.evaluate(f"({CONTROLS})")
        return kinds


Handler = Callable[[Portal], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def handles(*kinds: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = handler
        return handler

    return register


# -- controls any view may have ------------------------------------------------------------------------------


@handles("details")
async def _open_details(portal: Portal) -> None:
    summaries = portal.root.locator(".ss-view details > summary")
    for text in dict.fromkeys(await summaries.all_inner_texts()):
        summary = summaries.filter(has_text=text).first
        details = summary.locator("xpath=..")
        if await details.get_attribute("open") is None:
            await summary.click()
        await expect(details).to_have_attribute("open", "")


@handles("external")
async def _external_links(portal: Portal) -> None:
    for link in await portal.root.locator("a[target=_blank]").all():
        assert re.match(r"(https://|mailto:)", await link.get_attribute("href") or ""), (
            await link.inner_html()
        )
        assert "noopener" in (await link.get_attribute("rel") or "")


@handles("link")
async def _links_to_views(portal: Portal) -> None:
    here = portal.view
    links = portal.root.locator(".ss-view a[data-view]:not([data-query])")
    for target in dict.fromkeys(await links.evaluate_all("(all) => all.map((a) => a.dataset.view)")):
        link = portal.root.locator(f'.ss-view a[data-view="{target}"]:not([data-query])').first
        await portal.rerendered(link.click())
        await portal.rendered(target)
        await portal.open(here)


@handles("document")
async def _downloads(portal: Portal) -> None:
    """The first of each kind of document (an invoice, a receipt, a benefit's file) downloads whole."""
    links = portal.root.locator("a[data-document]")
    kinds = await links.evaluate_all("(all) => all.map((a) => a.getAttribute('href').split('/')[3])")
    for index in {kind: index for index, kind in reversed(list(enumerate(kinds)))}.values():
        async with portal.page.expect_download() as started:
            await links.nth(index).click()
        download = await started.value
        path = await download.path()
        body = path.read_bytes()
        if download.suggested_filename.endswith(".pdf"):
            assert body.startswith(b"%PDF"), download.suggested_filename
        else:
            assert body.strip(), download.suggested_filename


@handles("copy")
async def _copy(portal: Portal) -> None:
    button = portal.root.locator("[data-copy]").first
    await button.click()
    await expect(button).to_have_text("✓")


# -- overview ------------------------------------------------------------------------------------------------


@handles("action:regenerate_api_key")
async def _new_api_key(portal: Portal) -> None:
    await portal.submit(
        portal.form("regenerate_api_key"),
        portal.t("Your new API key is below. Copy it now: it will not be shown again."),
    )
    key = await portal.root.locator(".ss-secret code").inner_text()
    assert len(key) > 20
    await expect(
        portal.root.locator(".ss-benefit").filter(
            has=portal.frame.locator('form[data-action="regenerate_api_key"]')
        )
    ).to_contain_text(key[-4:])


# -- subscriptions -------------------------------------------------------------------------------------------


def _flow(portal: Portal) -> Locator:
    return portal.root.locator(".ss-flow")


async def _open_flow(portal: Portal, action: str, heading: str | re.Pattern[str]) -> Locator:
    link = portal.root.locator(f'.ss-view a[data-query^="action={action}&"]').first
    await portal.rerendered(link.click())
    flow = _flow(portal)
    await expect(flow.locator("h3")).to_have_text(heading)
    await expect(flow.locator("h3")).to_be_focused()
    await portal.no_error()
    return flow


async def _close_flow(portal: Portal, back: Locator) -> None:
    await portal.rerendered(back.click())
    await expect(_flow(portal)).to_have_count(0)


@handles("flow:change_plan")
async def _change_plan(portal: Portal) -> None:
    flow = await _open_flow(portal, "change_plan", portal.t("Change plan"))
    plans = flow.locator(".ss-plans > li")
    for hint in await plans.locator(".ss-hint").all_inner_texts():
        assert hint.strip(), "a plan without what switching to it means"
    if portal.person.email != PLAN_CHANGED_BY:
        await _close_flow(portal, flow.locator(":scope > a[data-view]"))
        return
    now = portal.pattern(
        portal.t("Your plan has changed."), portal.t("%(amount)s was charged to your card.", amount=ANY)
    )
    later = portal.pattern(portal.t("Your plan will change at the end of this period."))
    await portal.submit(plans.first.locator("form"), re.compile(f"{now.pattern}|{later.pattern}"))
    portal.demo.used.add("action:change_plan")


@handles("flow:change_seats")
async def _change_seats(portal: Portal) -> None:
    flow = await _open_flow(portal, "change_seats", portal.t("Change seats"))
    seats = flow.locator('input[name="seats"]')
    wanted = int(await seats.input_value()) + 1
    await seats.fill(str(wanted))
    await portal.rerendered(flow.locator("form[data-step] button").click())
    confirm = portal.form("change_seats", _flow(portal))
    await expect(confirm.locator("button")).to_have_text(portal.t("Confirm %(count)s seats", count=wanted))
    if portal.person.email != SEATS_CHANGED_BY:
        await _close_flow(portal, _flow(portal).locator(":scope > a[data-view]"))
        return
    done = portal.n("You now have %(num)d seat.", "You now have %(num)d seats.", wanted) % {"num": wanted}
    await portal.submit(
        confirm, portal.pattern(done, portal.t("%(amount)s was charged to your card.", amount=ANY))
    )
    portal.demo.used.add("action:change_seats")


@handles("flow:cancel")
async def _cancel(portal: Portal) -> None:
    """To the review of what will happen, then back."""
    flow = await _open_flow(portal, "cancel", portal.pattern(portal.t("Cancel %(plan)s", plan=ANY)))
    await portal.rerendered(flow.locator("form[data-step] button[type=submit]").click())
    review = portal.root.locator(".ss-review")
    await expect(review.locator("h4")).to_have_text(portal.t("What will happen"))
    await expect(review.locator("li").first).to_be_visible()
    await _close_flow(portal, review.locator(".ss-actions a[data-view]"))


@handles("action:uncancel")
async def _keep_subscription(portal: Portal) -> None:
    await portal.submit(portal.form("uncancel"), portal.t("Your subscription will continue."))
    if portal.person.email != CANCELED_BY:
        return
    # and cancel again at the end of the period, as the demo had it
    flow = await _open_flow(portal, "cancel", portal.pattern(portal.t("Cancel %(plan)s", plan=ANY)))
    await flow.locator('input[value="period_end"]').check()
    await portal.rerendered(flow.locator("form[data-step] button[type=submit]").click())
    ends = portal.t("Your subscription will end on %(date)s. You can undo this until then.", date=ANY)
    await portal.submit(portal.form("cancel"), portal.pattern(ends))
    await expect(portal.form("uncancel")).to_have_count(1)
    portal.demo.used.add("action:cancel")


@handles("action:pause")
async def _pause(portal: Portal) -> None:
    asked = await portal.change_mind(portal.form("pause"))
    assert asked == portal.t("Pause this subscription? You will not be charged while it is paused.")


@handles("action:resume")
async def _resume_then_pause(portal: Portal) -> None:
    await portal.submit(portal.form("resume"), portal.t("Your subscription is active again."))
    await portal.submit(portal.form("pause"), portal.t("Your subscription is paused."))
    portal.demo.used.add("action:pause")


@handles("action:clear_change")
async def _keep_plan(portal: Portal) -> None:
    await portal.submit(portal.form("clear_change"), portal.t("The scheduled change was cancelled."))
    await expect(portal.form("clear_change")).to_have_count(0)


def _seat_email(form: Locator) -> Awaitable[str]:
    return form.locator("xpath=ancestor::li[1]/span[1]").evaluate(
        "(span) => span.firstChild.textContent.trim()"
    )


@handles("action:resend_seat")
async def _resend_invitation(portal: Portal) -> None:
    form = portal.form("resend_seat").first
    email = await _seat_email(form)
    assert portal.demo.stack.mail is not None
    before = len(portal.demo.stack.mail.received_by(email))
    await portal.submit(form, portal.t("Invitation sent again."))
    await emails_to(portal.demo.stack, email, before + 1)


@handles("action:revoke_seat")
async def _remove_from_team(portal: Portal) -> None:
    form = portal.form("revoke_seat").first
    email = await _seat_email(form)
    assert await portal.change_mind(form) == portal.t("Remove %(email)s from the team?", email=email)
    if portal.person.email == SEAT_REVOKED_BY:
        await portal.submit(form, portal.t("%(email)s no longer has a seat.", email=email))
        seat = portal.root.locator(".ss-seats li").filter(has_text=email)
        await expect(seat.locator(".ss-badge")).to_have_text(portal.t("Revoked"))


@handles("action:assign_seat")
async def _invite(portal: Portal) -> None:
    """A revoked seat given back, else a new person invited (the email reaches them)."""
    given_back = portal.form("assign_seat").filter(
        has=portal.frame.locator('input[type="hidden"][name="email"]')
    )
    if await given_back.count():
        email = await given_back.first.locator('input[name="email"]').input_value()
        await portal.submit(given_back.first, portal.t("Invitation sent to %(email)s.", email=email))
    else:
        invite = portal.form("assign_seat").filter(has=portal.frame.locator('input[type="email"]'))
        email = f"smoke.{portal.person.email}"
        await invite.locator('input[type="email"]').fill(email)
        await portal.submit(invite, portal.t("Invitation sent to %(email)s.", email=email))
    invited = portal.root.locator(".ss-seats li:has(.ss-seat-pending)").filter(has_text=email)
    await expect(invited).to_have_count(1)
    await emails_to(portal.demo.stack, email)


# -- orders, usage, settings ---------------------------------------------------------------------------------


@handles("older")
async def _older_orders(portal: Portal) -> None:
    await portal.rerendered(portal.root.locator('a[data-query^="cursor="]').click())
    await portal.rendered("orders")
    await expect(portal.root.locator(".ss-order").first).to_be_visible()


@handles("action:pay")
async def _pay(portal: Portal) -> None:
    await portal.submit(portal.form("pay").first, portal.t("Thank you, the payment went through."))


@handles("action:add_alert")
async def _add_then_remove_alert(portal: Portal) -> None:
    form = portal.form("add_alert").first
    await form.locator("xpath=..").locator("summary").click()
    await form.locator('select[name="kind"]').select_option(index=0)
    await form.locator('input[name="threshold"]').fill("90")
    await portal.submit(
        form, portal.pattern(portal.t("Alert set. We will email %(email)s when it is reached.", email=ANY))
    )
    await portal.submit(portal.form("remove_alert").first, portal.t("Alert removed."))
    portal.demo.used.add("action:remove_alert")


@handles("action:remove_alert")
async def _remove_alert(portal: Portal) -> None:
    await portal.submit(portal.form("remove_alert").first, portal.t("Alert removed."))


@handles("action:update_billing")
async def _save_billing(portal: Portal) -> None:
    """Saved as they are, the billing details still show what the demo gave them."""
    await portal.submit(portal.form("update_billing"), portal.t("Billing information saved."))
    form, address = portal.form("update_billing"), portal.person.address
    await expect(form.locator('select[name="country"]')).to_have_value(address.country)
    await expect(form.locator('input[name="city"]')).to_have_value(address.city)
    await expect(form.locator('input[name="company_name"]')).to_have_value(portal.person.company)


@handles("action:change_email")
async def _change_email(portal: Portal) -> None:
    form = portal.form("change_email")
    await form.locator("xpath=..").locator("summary").click()
    address = f"new.{portal.person.email}"
    await form.locator('input[name="new_email"]').fill(address)
    sent = portal.t(
        "We sent a link to %(email)s. Your email address changes when you open it.", email=address
    )
    await portal.submit(form, sent)
    await emails_to(portal.demo.stack, address)


def _card_ids(portal: Portal) -> Awaitable[list[str]]:
    return portal.root.locator('#payment-methods form[data-action="remove_card"] input').evaluate_all(
        "(all) => all.map((input) => input.value)"
    )


@handles("action:add_card", "action:remove_card")
async def _add_then_remove_card(portal: Portal) -> None:
    """Every customer adds a card (not as their default) and removes it again; removing a card they had is
    asked, and answered Cancel. A customer whose payment failed pays it with the new card first."""
    cards = portal.root.locator("#payment-methods")
    had = await _card_ids(portal)
    if had:
        last4 = re.findall(r"•••• (\d{4})", await cards.locator(".ss-cards > li").first.inner_text())
        asked = await portal.change_mind(portal.form("remove_card", cards).first)
        assert [asked] == [portal.t("Remove the card ending in %(last4)s?", last4=last4[0])]
    if await cards.locator("#add-card[open]").count() == 0:
        await cards.locator("#add-card > summary").click()
    form = portal.form("add_card", cards)
    await form.locator('input[name="number"]').fill(GOOD_CARD)
    await form.locator('input[name="exp_month"]').fill("12")
    await form.locator('input[name="exp_year"]').fill(str(CARD_YEAR))
    await form.locator('input[name="cvc"]').fill("123")
    await form.locator('input[name="make_default"]').uncheck()
    await portal.submit(form, portal.t("Card added."))
    [added] = set(await _card_ids(portal)) - set(had)
    if portal.unpaid:
        await _pay_with_the_new_card(portal)
    removal = portal.root.locator(f'form[data-action="remove_card"]:has(input[value="{added}"])')
    await portal.submit(removal, portal.t("Card removed."))
    assert sorted(await _card_ids(portal)) == sorted(had)
    portal.demo.used.update({"action:add_card", "action:remove_card"})


async def _pay_with_the_new_card(portal: Portal) -> None:
    """The failed invoice is paid on Orders, and the subscription is active again."""
    await portal.open("orders")
    await portal.submit(portal.form("pay").first, portal.t("Thank you, the payment went through."))
    await expect(portal.form("pay")).to_have_count(0)
    await portal.open("subscriptions")
    await expect(portal.root.locator(".ss-unpaid")).to_have_count(0)
    await expect(portal.root.locator("article .ss-badge").first).to_have_text(portal.t("Active"))
    portal.demo.used.add("action:pay")
    portal.unpaid = False
    await portal.open("settings")


@handles("action:export_data")
async def _export_data(portal: Portal) -> None:
    preparing = portal.t("We are preparing a copy of your data. We email you when it is ready to download.")
    await portal.submit(portal.form("export_data"), preparing)


@handles("action:request_deletion")
async def _ask_for_deletion(portal: Portal) -> None:
    """Opened by everyone; sent by one customer (it cannot be taken back in the portal)."""
    form = portal.form("request_deletion")
    await form.locator("xpath=..").locator("summary").click()
    await expect(form.locator('input[name="confirm"]')).to_be_visible()
    if portal.person.email == DELETION_ASKED_BY:
        await form.locator('input[name="confirm"]').check()
        sent = portal.t(
            "Your request to delete your account was sent. You keep access until it is carried out."
        )
        await portal.submit(form, sent)


@handles("action:make_default")
async def _make_default(portal: Portal) -> None:
    await portal.submit(portal.form("make_default").first, portal.t("Default card updated."))


# -- the test ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", PEOPLE, ids=[p.email.split("@")[0] for p in PEOPLE])
async def test_a_demo_customer_opens_every_view_and_uses_every_control(demo: Demo, person: Person) -> None:
    demo.watch.problems.clear()
    portal = Portal(demo, person)
    await portal.sign_in()
    views = await portal.root.locator(".ss-nav a").evaluate_all("(all) => all.map((a) => a.dataset.view)")
    assert views == list(VIEWS)
    for view in views:
        if view != portal.view:
            await portal.open(view)
        if view == "subscriptions":
            portal.unpaid = await portal.root.locator(".ss-unpaid").count() > 0
        kinds = await portal.controls()
        assert [kind for kind in kinds if kind not in HANDLERS] == [], (
            f"{view}: controls this test does not know"
        )
        for handler in dict.fromkeys(HANDLERS[kind] for kind in kinds):
            if portal.view != view:
                await portal.open(view)
            await handler(portal)
        demo.used.update(kinds)
        assert demo.watch.problems == [], (view, demo.watch.problems)
    await portal.sign_out()
    demo.customers_done += 1


def test_the_demo_offers_every_action_this_test_knows(demo: Demo) -> None:
    if demo.customers_done < len(PEOPLE):
        pytest.skip("not every demo customer was clicked through in this run")
    actions = {
        f"action:{name}"
        for view in VIEWS.values()
        for name in view.actions
        if name not in NOT_IN_THE_DEMO | ANSWERS_TO_AN_OFFER
    }
    assert actions - demo.used == set()
    assert set(HANDLERS) - demo.used == NOT_OFFERED_BY_THE_DEMO
