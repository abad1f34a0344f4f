"""Customers in the console: search, a customer's page, a portal link sent by email (through a real SMTP
server) and a read-only look at the customer's portal, both noted in the activity with the staff member."""

from __future__ import annotations

import re
import uuid

from server import clock
from server.analytics.portal_analytics import VIEW_OPENED
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.db.tables import PortalEvent, Subscription
from server.enums import StaffRole
from server.privacy import erasure
from server.wallet.service import credit
from tests.integration.console.conftest import cookie_from
from tests.integration.factories import make_price, make_product
from tests.integration.mail.support import drain

PORTAL_LINK = re.compile(r"https?://\S+/portal/([\w-]+)#token=(ml_[\w-]+)")


async def _customer(org, **fields):
    tag = uuid.uuid4().hex[:6]
    defaults = {"email": f"grace-{tag}@example.com", "name": f"Grace {tag}", "external_id": f"user-{tag}"}
    return await create_customer(org.org.id, CustomerCreate(**{**defaults, **fields}))


async def test_search_finds_customers_by_email_name_or_external_id_in_any_case(org, staff_as):
    grace = await _customer(org, email="grace.hopper@navy.example", name="Grace Hopper", external_id="usr_77")
    await _customer(org, email="alan@bletchley.example", name="Alan Turing", external_id="usr_12")
    viewer = await staff_as(StaffRole.VIEWER)
    for text in ("HOPPER@navy", "grace h", "usr_77"):
        page = (await viewer.get("/console/customers", params={"q": text})).text
        assert f"/console/customers/{grace.id}" in page, text
        assert "alan@bletchley.example" not in page, text
    nothing = await viewer.get("/console/customers", params={"q": "nobody-at-all"})
    assert "No customer matches “nobody-at-all”." in nothing.text


async def test_a_customers_page_shows_subscriptions_orders_wallet_and_activity(org, staff_as):
    customer = await _customer(org)
    product = await make_product(org.org.id, "Team plan")
    price = await make_price(org.org.id, product, amount=900)
    now = clock.now()
    await Subscription(
        org=org.org.id,
        customer=customer.id,
        product=product.id,
        price=price.id,
        status="active",
        currency="USD",
        seats=2,
        started_at=now,
        current_period_start=now,
        current_period_end=now,
        created_at=now,
        updated_at=now,
    ).save()
    await credit(org.org.id, customer.id, 1250, "USD", "promotional", "Welcome credit")
    viewer = await staff_as(StaffRole.VIEWER)
    page = (await viewer.get(f"/console/customers/{customer.id}")).text
    assert "Team plan" in page
    assert "active" in page
    assert "$12.50" in page
    assert "Welcome credit" in page
    assert customer.external_id in page


async def test_a_customers_page_says_deletion_was_requested_then_done(org, staff_as):
    customer = await _customer(org)
    viewer = await staff_as(StaffRole.VIEWER)
    assert "Deletion requested" not in (await viewer.get(f"/console/customers/{customer.id}")).text
    await erasure.request_deletion(org.org.id, customer.id)
    page = (await viewer.get(f"/console/customers/{customer.id}")).text
    assert "Deletion requested" in page
    assert f"POST /v1/customers/{customer.id}/erase" in page
    await erasure.erase_customer(org.org.id, customer.id)
    page = (await viewer.get(f"/console/customers/{customer.id}")).text
    assert "Personal data erased" in page
    assert "Deletion requested" not in page


async def test_support_emails_a_portal_link_that_signs_the_customer_in(
    client, org, staff_as, inbox, smtp_context
):
    customer = await _customer(org)
    support = await staff_as(StaffRole.SUPPORT)
    page = await support.get(f"/console/customers/{customer.id}")
    assert "Send portal link" in page.text
    sent = await support.post(f"/console/customers/{customer.id}/portal-link")
    assert sent.status_code == 200
    assert f"A sign-in link to the portal is on its way to {customer.email}." in sent.text
    assert "<span>console.portal_link_sent</span>" in sent.text
    assert f"by {support.email}" in sent.text
    await drain(smtp_context)
    [message] = inbox.received_by(customer.email)
    slug, token = PORTAL_LINK.search(message.get_body(("plain",)).get_content()).groups()
    assert slug == org.org.slug
    opened = await client.post(f"/portal/{slug}/session", data={"token": token})
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/portal/{slug}?view=overview"


async def test_support_looks_at_the_portal_read_only_marked_and_logged_not_counted(
    app, client, org, staff_as
):
    customer = await _customer(org)
    support = await staff_as(StaffRole.SUPPORT)
    opened = await support.post(f"/console/customers/{customer.id}/view-portal")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/portal/{org.org.slug}"
    portal_cookie = {"cookie": f"ss_session={cookie_from(opened, 'ss_session')}"}
    shell = await client.get(f"/portal/{org.org.slug}", headers=portal_cookie)
    assert f"Staff view: {support.email} is looking at this customer&#39;s portal." in shell.text
    csrf = re.search(r'data-csrf="([^"]+)"', shell.text).group(1)
    view = await client.get("/embed/views/settings", headers=portal_cookie)
    assert view.status_code == 200
    assert customer.email in view.text
    refused = await client.post(
        "/embed/views/settings/update_billing",
        data={"billing_name": "Changed by staff"},
        headers={**portal_cookie, "x-csrf-token": csrf},
    )
    assert refused.status_code == 403
    await app.state.portal_events.flush()
    assert not await PortalEvent.exists().where(
        PortalEvent.customer == customer.id, PortalEvent.name == VIEW_OPENED
    )
    page = (await support.get(f"/console/customers/{customer.id}")).text
    assert "console.portal_viewed" in page
    assert f"by {support.email}" in page


async def test_a_viewer_sees_no_support_buttons_and_may_not_use_them(org, staff_as, inbox, smtp_context):
    customer = await _customer(org)
    viewer = await staff_as(StaffRole.VIEWER)
    page = (await viewer.get(f"/console/customers/{customer.id}")).text
    assert "Send portal link" not in page
    assert "View portal as this customer" not in page
    for action in ("portal-link", "view-portal"):
        refused = await viewer.post(f"/console/customers/{customer.id}/{action}")
        assert refused.status_code == 403
        assert "ss_session" not in refused.headers.get("set-cookie", "")
    await drain(smtp_context)
    assert inbox.received_by(customer.email) == []


async def test_another_merchants_customer_is_a_404_page(org, staff_as, keyring):
    from server.organizations.service import create_organization

    other = await create_organization(keyring, name=f"Other {uuid.uuid4().hex[:6]}")
    stranger = await create_customer(other.org.id, CustomerCreate(email="stranger@example.com"))
    support = await staff_as(StaffRole.SUPPORT)
    page = await support.get(f"/console/customers/{stranger.id}")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert (await support.post(f"/console/customers/{stranger.id}/view-portal")).status_code == 404
