"""Customers in the console: search, a customer's page (subscriptions, orders, wallet, seats, activity), and
what support does for them: email a sign-in link (the portal's magic link) and look at their portal as they
see it (a read-only hosted session, marked as a staff view, not counted in analytics). Both leave an activity
entry naming the staff member."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from server.activity import record_staff_action
from server.analytics.portal_analytics import list_activity
from server.auth.magic_links import normalize_email, request_login_link
from server.auth.sessions import SessionScopes, open_hosted_session
from server.billing.orders import list_orders
from server.console.auth import Staff
from server.console.guards import requires_support, requires_viewer
from server.console.pages import done, render_page, see_other
from server.customers.service import get_customer, search_customers
from server.db.tables import Product, Seat
from server.enums import SeatStatus
from server.http.types import AnyRequest
from server.portal.hosted import SESSION_COOKIE, session_cookie
from server.state import app_state
from server.subscriptions.seats import list_seats
from server.subscriptions.service import list_subscriptions
from server.wallet.service import list_transactions, list_wallets

SHOWN = 20


class CustomersController(Controller):
    path = "/customers"

    @get("/", name="console-customers", guards=[requires_viewer])
    async def search(
        self, request: AnyRequest, staff: NamedDependency[Staff], q: FromQuery[str] = ""
    ) -> Response[str]:
        found = await search_customers(staff.org.id, q)
        return render_page(request, "console/customers.html", q=q, customers=found)

    @get("/{customer_id:uuid}", name="console-customer", guards=[requires_viewer])
    async def customer(
        self, request: AnyRequest, staff: NamedDependency[Staff], customer_id: FromPath[UUID]
    ) -> Response[str]:
        return await customer_page(request, staff, customer_id)

    @post("/{customer_id:uuid}/portal-link", name="console-send-portal-link", guards=[requires_support])
    async def send_portal_link(
        self, request: AnyRequest, staff: NamedDependency[Staff], customer_id: FromPath[UUID]
    ) -> Response[str]:
        """Email the customer a sign-in link to their portal, exactly as if they had asked for one."""
        customer = await get_customer(staff.org.id, customer_id)
        state = app_state(request)
        await request_login_link(
            staff.org,
            normalize_email(customer.email),
            keyring=state.keyring,
            public_url=state.settings.public_url,
        )
        await record_staff_action(staff.org.id, customer.id, "console.portal_link_sent", staff.member_id)
        message = f"A sign-in link to the portal is on its way to {customer.email}."
        return done(request, f"/console/customers/{customer_id}", message)

    @post("/{customer_id:uuid}/view-portal", name="console-view-portal", guards=[requires_support])
    async def view_portal(
        self, request: AnyRequest, staff: NamedDependency[Staff], customer_id: FromPath[UUID]
    ) -> Response[str]:
        """Open the customer's hosted portal in this browser, read-only and marked as a staff view."""
        customer = await get_customer(staff.org.id, customer_id)
        secret, _ = await open_hosted_session(
            staff.org.id,
            customer.id,
            SessionScopes(read_only=True, viewed_by=staff.email),
            replacing=request.cookies.get(SESSION_COOKIE),
        )
        await record_staff_action(staff.org.id, customer.id, "console.portal_viewed", staff.member_id)
        response = see_other(f"/portal/{staff.org.slug}")
        response.cookies.append(session_cookie(secret))
        return response


async def customer_page(request: AnyRequest, staff: Staff, customer_id: UUID, **extra: Any) -> Response[str]:
    org_id = staff.org.id
    customer = await get_customer(org_id, customer_id)
    subscriptions = await list_subscriptions(org_id, customer_id=customer.id)
    products = {
        str(p["id"]): p["name"]
        for p in await Product.select(Product.id, Product.name).where(Product.org == org_id)
    }
    wallets = await list_wallets(org_id, customer.id)
    seats: dict[str, list[Seat]] = {}
    for subscription in subscriptions:
        listed = await list_seats(org_id, subscription.id)
        if listed:
            seats[str(subscription.id)] = listed
    return render_page(
        request,
        "console/customer.html",
        customer=customer,
        subscriptions=subscriptions,
        products=products,
        seats=seats,
        revoked=SeatStatus.REVOKED,
        orders=(await list_orders(org_id, customer_id=customer.id, limit=SHOWN, newest_first=True)).items,
        wallets=wallets,
        wallet_currency={str(w.id): w.currency for w in wallets},
        transactions=await list_transactions(org_id, customer.id, limit=SHOWN),
        activity=await list_activity(org_id, customer.id, limit=SHOWN, console=True),
        **extra,
    )
