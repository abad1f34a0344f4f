import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from server.clock import FrozenClock, use_clock
from server.db.tables import Customer, Seat, WebhookEvent
from server.errors import Conflict, Invalid, NotFound
from server.security.secrets import sha256_hex
from server.subscriptions.seats import (
    assign_seat,
    claim_seat,
    expire_invitations,
    list_seats,
    resend_invitation,
    revoke_seat,
)
from server.subscriptions.service import create_subscription
from tests.integration.factories import make_customer, make_price

START = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with use_clock(FrozenClock(START)) as c:
        yield c


async def seated_subscription(org, seats):
    """A trialing per-seat subscription (no payment needed) with ``seats`` seats."""
    customer = await make_customer(org.org.id)
    price = await make_price(org.org.id, amount=0, seat_amount=500, max_seats=100, trial_days=30)
    return customer, await create_subscription(org.org.id, customer.id, price.id, seats=seats)


async def count_events(org_id, type):
    return await WebhookEvent.count().where(WebhookEvent.org == org_id, WebhookEvent.type == type)


async def test_fifty_concurrent_assignments_fill_exactly_ten_free_seats(org, frozen):
    org_id = org.org.id
    _, sub = await seated_subscription(org, 10)
    results = await asyncio.gather(
        *(assign_seat(org_id, sub.id, f"user{n}@example.com") for n in range(50)), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 10
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    assert await Seat.count().where(Seat.subscription == sub.id) == 10
    assert await count_events(org_id, "customer_seat.assigned") == 10


async def test_claim_link_makes_the_invitee_a_member_once(org, frozen):
    org_id = org.org.id
    customer, sub = await seated_subscription(org, 2)
    seat, token = await assign_seat(org_id, sub.id, " New.Person@Example.com ", customer_id=customer.id)
    stored = await Seat.select(Seat.invitation_hash, Seat.email).where(Seat.id == seat.id).first()
    assert stored == {"invitation_hash": sha256_hex(token), "email": "new.person@example.com"}
    claimed = await claim_seat(org_id, token)
    assert claimed.status == "claimed"
    member = await Customer.objects().where(Customer.id == claimed.member).first()
    assert (member.email, member.org) == ("new.person@example.com", org_id)
    with pytest.raises(NotFound, match="not valid"):
        await claim_seat(org_id, token)
    assert await count_events(org_id, "customer_seat.claimed") == 1


async def test_claim_links_expire_after_a_day_and_resend_renews_them(org, frozen):
    org_id = org.org.id
    _, sub = await seated_subscription(org, 3)
    seat, old_token = await assign_seat(org_id, sub.id, "late@example.com")
    frozen.advance(timedelta(hours=23))
    new_token = await resend_invitation(org_id, seat.id)
    frozen.advance(timedelta(hours=2))
    with pytest.raises(NotFound):
        await claim_seat(org_id, old_token)
    assert (await claim_seat(org_id, new_token)).status == "claimed"
    await assign_seat(org_id, sub.id, "never@example.com")
    frozen.advance(timedelta(days=1))
    assert await expire_invitations() >= 1
    seats = {s.email: s.status for s in await list_seats(org_id, sub.id)}
    assert seats == {"late@example.com": "claimed", "never@example.com": "revoked"}
    assert await count_events(org_id, "customer_seat.revoked") == 1


async def test_revoke_frees_the_seat_and_rules_are_enforced(org, frozen):
    org_id = org.org.id
    customer, sub = await seated_subscription(org, 1)
    seat, _ = await assign_seat(org_id, sub.id, "a@example.com")
    with pytest.raises(Conflict, match="all 1 seats are assigned"):
        await assign_seat(org_id, sub.id, "b@example.com")
    with pytest.raises(Invalid, match="not an email"):
        await assign_seat(org_id, sub.id, "not-an-email")
    stranger = await make_customer(org_id)
    with pytest.raises(NotFound):
        await revoke_seat(org_id, seat.id, customer_id=stranger.id)
    with pytest.raises(NotFound):
        await list_seats(org_id, sub.id, customer_id=stranger.id)
    await revoke_seat(org_id, seat.id, customer_id=customer.id)
    with pytest.raises(Conflict, match="already revoked"):
        await revoke_seat(org_id, seat.id)
    with pytest.raises(Conflict, match="pending"):
        await resend_invitation(org_id, seat.id)
    await assign_seat(org_id, sub.id, "a@example.com")
    with pytest.raises(Conflict, match="already has a seat"):
        await assign_seat(org_id, sub.id, "a@example.com")
