"""The triggers behind the view cache: every write a portal view would show bumps the customer's or the
merchant's number in ``ss_cache_version``, whoever makes it; writes no view shows leave them alone."""

from uuid import UUID

from server.analytics import portal_analytics
from server.db.tables import CacheVersion, Customer, Organization
from server.metering.service import UsageEventIn, ingest_events
from server.subscriptions.seats import assign_seat, claim_seat
from server.subscriptions.service import create_subscription
from server.wallet.service import credit
from tests.integration.factories import make_customer, make_price


async def version(scope: UUID) -> int:
    row = await CacheVersion.select(CacheVersion.version).where(CacheVersion.scope == scope).first()
    return 0 if row is None else int(row["version"])


async def test_writes_a_view_shows_bump_the_customer(org):
    org_id = org.org.id
    customer = await make_customer(org_id)
    created = await version(customer.id)
    assert created >= 1

    await Customer.update({Customer.name: "Grace Hopper"}).where(Customer.id == customer.id)
    renamed = await version(customer.id)
    assert renamed > created

    await credit(org_id, customer.id, 500, "USD", "promotional", "Welcome credit")
    credited = await version(customer.id)
    assert credited > renamed

    await ingest_events(org_id, [UsageEventIn(name="api.call", customer_id=customer.id, value=3)])
    assert await version(customer.id) > credited


async def test_a_seat_bumps_the_owner_and_the_member(org):
    org_id = org.org.id
    price = await make_price(org_id, amount=0, seat_amount=500, max_seats=10, trial_days=30)
    owner, member = await make_customer(org_id), await make_customer(org_id)
    subscription = await create_subscription(org_id, owner.id, price.id, seats=3)
    before = (await version(owner.id), await version(member.id))

    _, token = await assign_seat(org_id, subscription.id, member.email, customer_id=owner.id)
    assigned = await version(owner.id)
    assert assigned > before[0]
    assert await version(member.id) == before[1]  # a pending seat names nobody yet

    await claim_seat(org_id, token)
    assert await version(member.id) > before[1]
    assert await version(owner.id) > assigned


async def test_analytics_and_the_invoice_counter_change_nothing_a_view_shows(org):
    org_id = org.org.id
    customer = await make_customer(org_id)
    customer_before, org_before = await version(customer.id), await version(org_id)

    await portal_analytics.record(org_id, customer.id, portal_analytics.VIEW_OPENED, properties={"view": "x"})
    await Organization.update({Organization.last_invoice_number: Organization.last_invoice_number + 1}).where(
        Organization.id == org_id
    )

    assert (await version(customer.id), await version(org_id)) == (customer_before, org_before)


async def test_merchant_settings_and_catalog_bump_the_merchant(org):
    org_id = org.org.id
    before = await version(org_id)
    await Organization.update({Organization.name: "Renamed shop"}).where(Organization.id == org_id)
    renamed = await version(org_id)
    assert renamed > before

    await make_price(org_id, amount=1200)
    assert await version(org_id) > renamed
