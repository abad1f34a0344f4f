"""Views opened are written in batches: after a second, after MAX_PENDING, on demand; a row the database
refuses is dropped alone."""

import uuid
from datetime import UTC, datetime, timedelta

from server.analytics.portal_analytics import VIEW_OPENED, PendingEvents
from server.clock import FrozenClock, use_clock
from server.db.tables import PortalEvent


async def stored(org_id):
    return await PortalEvent.count().where(PortalEvent.org == org_id, PortalEvent.name == VIEW_OPENED)


async def test_views_wait_for_a_second_then_go_in_together(org, customer):
    pending = PendingEvents()
    with use_clock(FrozenClock(datetime.now(UTC))) as clock:
        for _ in range(3):
            await pending.add(
                org.org.id, customer.id, VIEW_OPENED, session_id=None, properties={"view": "usage"}
            )
        assert (len(pending), await stored(org.org.id)) == (3, 0)
        clock.advance(timedelta(seconds=1))
        await pending.add(org.org.id, customer.id, VIEW_OPENED, session_id=None, properties={"view": "usage"})
    assert (len(pending), await stored(org.org.id)) == (0, 4)


async def test_a_full_buffer_is_written_at_once(org, customer):
    pending = PendingEvents()
    with use_clock(FrozenClock(datetime.now(UTC))):
        for _ in range(PendingEvents.MAX_PENDING):
            await pending.add(org.org.id, customer.id, VIEW_OPENED, session_id=None, properties={})
    assert (len(pending), await stored(org.org.id)) == (0, PendingEvents.MAX_PENDING)


async def test_a_refused_row_is_dropped_alone(org, customer):
    pending = PendingEvents()
    await pending.add(org.org.id, customer.id, VIEW_OPENED, session_id=None, properties={})
    await pending.add(
        org.org.id, uuid.uuid4(), VIEW_OPENED, session_id=None, properties={}
    )  # no such customer
    await pending.add(org.org.id, customer.id, VIEW_OPENED, session_id=None, properties={})
    await pending.flush()
    assert (len(pending), await stored(org.org.id)) == (0, 2)
