"""The customer's own data: "Download my data" in settings builds a ZIP in the background (progress, email,
single-use download; every part of the archive checked), and "Delete my account" is a request the merchant
approves through the API, which erases personal data everywhere but keeps orders and invoices."""

import asyncio
import io
import json
import uuid
import zipfile
from datetime import timedelta

import msgspec

from server import clock
from server.auth.magic_links import save_link
from server.auth.oauth import Identity
from server.clock import FrozenClock, use_clock
from server.customers.schemas import Address, CustomerCreate
from server.customers.service import create_customer
from server.db.tables import (
    ConnectedAccount,
    Customer,
    DataExport,
    EmailMessage,
    InvoiceDocument,
    MagicLink,
    Order,
    PaymentMethod,
    PortalSession,
    Seat,
    Subscription,
    UsageEvent,
    WebhookEvent,
)
from server.enums import Actor, MagicLinkPurpose, OAuthProviderKind, SeatStatus
from server.mail.queue import read_content
from server.metering.service import UsageEventIn, ingest_events
from server.oauth.connected_accounts import connect_account
from server.privacy import data_exports
from server.subscriptions.seats import assign_seat
from server.subscriptions.service import create_subscription
from server.usage.usage_alerts import Notifier
from server.wallet.service import credit
from tests.integration.factories import make_price
from tests.integration.portal.conftest import fetch_document
from tests.integration.portal.test_views import _card, _order

PUBLIC_URL = "https://billing.example.com"


def bearer(session):
    return {"Authorization": f"Bearer {session}"}


async def rich_customer(org, keyring):
    """A customer with something in every part: billing details, a card, a seat subscription with a team
    member, a paid one-time order, wallet credit, usage with metadata, a connected account, a sign-in link."""
    org_id = org.org.id
    customer = await create_customer(
        org_id,
        CustomerCreate(
            email=f"grace-{uuid.uuid4().hex[:6]}@example.com",
            name="Grace Hopper",
            external_id=f"user-{uuid.uuid4().hex[:6]}",
            billing_name="Grace B. Hopper",
            billing_email="accounts@hopper.example",
            company_name="Hopper Computing",
            tax_id="DE123456789",
            billing_address=Address(line1="1 Compiler Way", city="Arlington", country="US"),
            metadata={"crm": "lead-7"},
        ),
    )
    await _card(org, customer, keyring)
    price = await make_price(org_id, amount=1200, seat_amount=500)
    subscription = await create_subscription(org_id, customer.id, price.id, seats=2)
    await assign_seat(org_id, subscription.id, "teammate@hopper.example")
    await _order(org, customer)
    await credit(org_id, customer.id, 700, "USD", "promotional", "Welcome credit")
    await ingest_events(
        org_id,
        [UsageEventIn(name="api.call", customer_id=customer.id, value=3, metadata={"user": "grace"})],
    )
    identity = Identity(OAuthProviderKind.GITHUB, "gh-1", "grace@github.example", True)
    await connect_account(org_id, customer.id, identity)
    await save_link(org_id, MagicLinkPurpose.LOGIN, customer.email, customer_id=customer.id)
    return customer, subscription


async def build(keyring):
    return await data_exports.build_due_exports(Notifier(keyring=keyring, public_url=PUBLIC_URL))


async def test_download_my_data_builds_a_zip_with_every_part(client, org, keyring, mint):
    while await build(keyring):  # exports other tests left waiting: the count below is this test's alone
        pass
    customer, subscription = await rich_customer(org, keyring)
    session = (
        await client.post(
            "/embed/session",
            json={"token": mint(customer_id=customer.id), "origin": "https://app.example.com"},
        )
    ).json()["session"]
    asked = await client.post("/embed/views/settings/export_data", headers=bearer(session))
    assert asked.status_code == 200, asked.text
    assert "We are preparing a copy of your data" in asked.text
    assert 'data-export-status="/embed/data-exports/' in asked.text
    assert "<progress" in asked.text
    again = await client.post("/embed/views/settings/export_data", headers=bearer(session))
    assert again.status_code == 200
    exports = await DataExport.objects().where(DataExport.customer == customer.id)
    assert len(exports) == 1  # one under way at a time
    export = exports[0]
    status = await client.get(f"/embed/data-exports/{export.id}", headers=bearer(session))
    assert status.json() == {"status": "pending", "progress": 0}

    assert await build(keyring) == 1
    status = await client.get(f"/embed/data-exports/{export.id}", headers=bearer(session))
    assert status.json() == {"status": "ready", "progress": 100}
    page = await client.get("/embed/views/settings", headers=bearer(session))
    path = f"/embed/documents/export/{export.id}"
    assert path in page.text
    assert "data-export-status" not in page.text
    link, download = await fetch_document(client, path, bearer(session))
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert "attachment" in download.headers["content-disposition"]
    assert (await client.get(link)).status_code == 410  # single use

    archive = zipfile.ZipFile(io.BytesIO(download.content))
    orders = await Order.objects().where(Order.customer == customer.id).order_by(Order.created_at)
    pdfs = sorted(n for n in archive.namelist() if n.startswith("invoices/"))
    assert pdfs == sorted(f"invoices/{o.invoice_number}.pdf" for o in orders)
    for order in orders:
        stored = await InvoiceDocument.select(InvoiceDocument.pdf).where(InvoiceDocument.order == order.id)
        assert archive.read(f"invoices/{order.invoice_number}.pdf") == bytes(stored[0]["pdf"])
    data = json.loads(archive.read("data.json"))
    assert data["customer"]["email"] == customer.email
    assert data["customer"]["tax_id"] == "DE123456789"
    assert data["customer"]["billing_address"]["city"] == "Arlington"
    assert [s["id"] for s in data["subscriptions"]] == [str(subscription.id)]
    assert [s["email"] for s in data["subscriptions"][0]["seats"]] == ["teammate@hopper.example"]
    assert sorted(o["id"] for o in data["orders"]) == sorted(str(o.id) for o in orders)
    assert all(o["lines"] for o in data["orders"])
    assert [(m["brand"], m["last4"]) for m in data["payment_methods"]] == [("visa", "4242")]
    assert data["usage"]["daily"] == [
        {"event": "api.call", "day": clock.now().date().isoformat(), "total": 3, "events": 1}
    ]
    assert data["usage"]["current_period"]["customer_id"] == str(customer.id)
    assert data["wallet"]["balances"] == [{"currency": "USD", "balance": 700}]
    assert [t["description"] for t in data["wallet"]["transactions"]] == ["Welcome credit"]
    assert [a["subject"] for a in data["connected_accounts"]] == ["gh-1"]
    assert {"customer.created", "subscription.created", "order.paid"} <= {a["name"] for a in data["activity"]}

    mail = await EmailMessage.objects().where(EmailMessage.to_address == customer.email)
    ready = [m for m in mail if "is ready" in m.subject]
    assert len(ready) == 1
    assert (
        f"{PUBLIC_URL}/portal/{org.org.slug}?view=settings"
        in read_content(keyring, ready[0].body_encrypted).text
    )


async def test_the_merchant_api_exports_too_and_archives_expire(client, org, keyring, api_headers):
    customer, _ = await rich_customer(org, keyring)
    base = f"/v1/customers/{customer.id}/data-exports"
    created = await client.post(base, headers=api_headers)
    assert created.status_code == 202, created.text
    body = created.json()
    assert (body["status"], body["requested_by"], body["progress"]) == ("pending", "merchant", 0)
    early = await client.get(f"{base}/{body['id']}/archive", headers=api_headers)
    assert early.status_code == 409
    assert early.headers["content-type"] == "application/problem+json"
    await build(keyring)
    done = (await client.get(f"{base}/{body['id']}", headers=api_headers)).json()
    assert done["status"] == "ready"
    assert done["size"] > 0
    assert done["expires_at"]
    archive = await client.get(f"{base}/{body['id']}/archive", headers=api_headers)
    assert archive.status_code == 200
    assert "data.json" in zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert [e["id"] for e in (await client.get(base, headers=api_headers)).json()] == [body["id"]]
    # the merchant asked: the customer gets no email
    assert not await EmailMessage.exists().where(EmailMessage.to_address == customer.email)

    with use_clock(FrozenClock(clock.now() + data_exports.KEPT_FOR + timedelta(minutes=1))):
        await build(keyring)
    gone = await client.get(f"{base}/{body['id']}/archive", headers=api_headers)
    assert gone.status_code == 409
    row = await DataExport.objects().where(DataExport.id == body["id"]).first()
    assert row.status == "expired"
    assert row.archive is None


async def test_api_problems_on_bad_input(client, org, api_headers, customer):
    unknown = uuid.uuid4()
    for method, path in (
        ("post", f"/v1/customers/{unknown}/data-exports"),
        ("get", f"/v1/customers/{customer.id}/data-exports/{unknown}"),
        ("get", f"/v1/customers/{customer.id}/data-exports/{unknown}/archive"),
        ("post", f"/v1/customers/{unknown}/erase"),
        ("delete", f"/v1/customers/{unknown}/deletion-request"),
    ):
        response = await client.request(method, path, headers=api_headers)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
    not_uuid = await client.post("/v1/customers/not-an-id/erase", headers=api_headers)
    assert not_uuid.status_code in (400, 404)
    assert not_uuid.headers["content-type"] == "application/problem+json"
    none_pending = await client.delete(f"/v1/customers/{customer.id}/deletion-request", headers=api_headers)
    assert none_pending.status_code == 409
    assert none_pending.json()["detail"] == "this customer has no pending deletion request"
    other = await client.post(
        f"/v1/customers/{customer.id}/erase", headers={"Authorization": "Bearer ss_sk_wrong"}
    )
    assert other.status_code == 401


async def test_deletion_request_then_erasure_keeps_invoices_and_removes_personal_data(
    client, org, keyring, api_headers, mint
):
    customer, subscription = await rich_customer(org, keyring)
    session = (
        await client.post(
            "/embed/session",
            json={"token": mint(customer_id=customer.id), "origin": "https://app.example.com"},
        )
    ).json()["session"]
    unconfirmed = await client.post("/embed/views/settings/request_deletion", headers=bearer(session))
    assert unconfirmed.status_code == 422
    assert "Please confirm" in unconfirmed.text
    asked = await client.post(
        "/embed/views/settings/request_deletion", data={"confirm": "on"}, headers=bearer(session)
    )
    assert asked.status_code == 200, asked.text
    assert "You asked for your account to be deleted on" in asked.text
    assert "customer.deletion_requested" in asked.headers["x-selfserve-events"]
    requested = await WebhookEvent.objects().where(
        WebhookEvent.org == org.org.id, WebhookEvent.type == "customer.deletion_requested"
    )
    assert [json.loads(e.payload)["id"] for e in requested] == [str(customer.id)]
    listed = await client.get("/v1/customers?deletion_requested=true", headers=api_headers)
    assert [c["id"] for c in listed.json()["items"]] == [str(customer.id)]
    assert listed.json()["items"][0]["deletion_requested_at"]

    orders_before = await Order.objects().where(Order.customer == customer.id).order_by(Order.created_at)
    erased = await client.post(f"/v1/customers/{customer.id}/erase", headers=api_headers)
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["erased_at"]
    assert body["archived_at"]
    assert body["email"].endswith("@erased.invalid")
    assert (body["name"], body["tax_id"], body["company_name"], body["external_id"]) == ("", "", "", None)
    assert body["billing_address"] == {}
    assert body["metadata"] == {}
    assert (await client.post(f"/v1/customers/{customer.id}/erase", headers=api_headers)).json() == body

    row = await Customer.objects().where(Customer.id == customer.id).first()
    assert (row.billing_name, row.billing_email) == ("", "")
    assert (
        await Subscription.objects().where(Subscription.id == subscription.id).first()
    ).status == "canceled"
    for table in (PaymentMethod, PortalSession, ConnectedAccount, MagicLink, DataExport):
        assert not await table.exists().where(table.customer == customer.id), table
    assert not await EmailMessage.exists().where(
        EmailMessage.to_address.is_in([customer.email, "accounts@hopper.example"])
    )
    seats = await Seat.objects().where(Seat.subscription == subscription.id)
    assert seats
    assert all(s.email.endswith("@erased.invalid") for s in seats)
    assert all(s.status != SeatStatus.CLAIMED or s.member is None for s in seats)
    events = await UsageEvent.objects().where(UsageEvent.customer == customer.id)
    assert events
    assert all(e.metadata in ({}, "{}") for e in events)
    stored = await WebhookEvent.select(WebhookEvent.payload).where(WebhookEvent.org == org.org.id)
    text = " ".join(
        r["payload"] if isinstance(r["payload"], str) else msgspec.json.encode(r["payload"]).decode()
        for r in stored
    )
    for personal in (
        customer.email,
        "Grace Hopper",
        "DE123456789",
        "teammate@hopper.example",
        "1 Compiler Way",
    ):
        assert personal not in text
    deleted = await WebhookEvent.objects().where(
        WebhookEvent.org == org.org.id, WebhookEvent.type == "customer.deleted"
    )
    assert [json.loads(e.payload)["id"] for e in deleted] == [str(customer.id)]

    # what the law keeps: every order, its invoice PDF and the buyer's details frozen on it
    orders_after = await Order.objects().where(Order.customer == customer.id).order_by(Order.created_at)
    assert [o.id for o in orders_after] == [o.id for o in orders_before]
    for order in orders_after:
        assert await InvoiceDocument.exists().where(InvoiceDocument.order == order.id)
        snapshot = order.billing_snapshot
        snapshot = json.loads(snapshot) if isinstance(snapshot, str) else snapshot
        assert "DE123456789" in json.dumps(snapshot)
    invoice = await client.get(f"/v1/orders/{orders_after[0].id}/invoice", headers=api_headers)
    assert invoice.status_code == 200
    assert invoice.content.startswith(b"%PDF")

    # the session is gone and the old address signs nobody in
    assert (await client.get("/embed/views/settings", headers=bearer(session))).status_code == 401
    assert (
        await client.post(f"/v1/customers/{customer.id}/data-exports", headers=api_headers)
    ).status_code == 409


async def test_two_requests_at_once_make_one_export(org, customer):
    asked = [
        data_exports.request_export(org.org.id, customer.id, requested_by=Actor.CUSTOMER) for _ in range(4)
    ]
    made = await asyncio.gather(*asked)
    assert len({str(export.id) for export in made}) == 1
    assert len(await DataExport.objects().where(DataExport.customer == customer.id)) == 1
