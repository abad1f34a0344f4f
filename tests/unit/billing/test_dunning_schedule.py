"""The dunning schedule as a pure function: +2, +7, +14, +21 days after the first failure, then over."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.billing.orders import SCHEDULED_ATTEMPTS, next_dunning_attempt

FIRST_FAILURE = datetime(2026, 3, 30, 23, 59, 59, tzinfo=UTC)
DAY = timedelta(days=1)


def test_schedule_from_the_first_failure():
    assert next_dunning_attempt(1, FIRST_FAILURE, None) == FIRST_FAILURE + 2 * DAY
    assert (
        next_dunning_attempt(2, FIRST_FAILURE + 2 * DAY, FIRST_FAILURE + 2 * DAY) == FIRST_FAILURE + 7 * DAY
    )
    assert (
        next_dunning_attempt(3, FIRST_FAILURE + 7 * DAY, FIRST_FAILURE + 7 * DAY) == FIRST_FAILURE + 14 * DAY
    )
    assert (
        next_dunning_attempt(4, FIRST_FAILURE + 14 * DAY, FIRST_FAILURE + 14 * DAY)
        == FIRST_FAILURE + 21 * DAY
    )
    assert next_dunning_attempt(5, FIRST_FAILURE + 21 * DAY, FIRST_FAILURE + 21 * DAY) is None
    assert SCHEDULED_ATTEMPTS == 5


@given(
    lateness=st.lists(
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=36)), min_size=4, max_size=4
    )
)
def test_a_late_job_never_shifts_the_schedule(lateness):
    scheduled = next_dunning_attempt(1, FIRST_FAILURE, None)
    seen = [scheduled]
    for failures, late in enumerate(lateness[:3], start=2):
        scheduled = next_dunning_attempt(failures, scheduled + late, scheduled)
        seen.append(scheduled)
    assert seen == [FIRST_FAILURE + d * DAY for d in (2, 7, 14, 21)]
    assert next_dunning_attempt(5, scheduled + lateness[3], scheduled) is None
