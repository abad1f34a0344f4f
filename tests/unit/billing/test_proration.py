from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.proration import add_months, next_boundary, period_boundary, prorate

amounts = st.integers(min_value=0, max_value=10**12)
starts = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
lengths = st.integers(min_value=1, max_value=400 * 86400)


def test_stripe_example_mid_period_nets_half_the_delta():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=30)
    assert prorate(1000, 2000, start, end, start + timedelta(days=15)) == 500
    assert prorate(2000, 1000, start, end, start + timedelta(days=15)) == -500


@settings(max_examples=1000)
@given(old=amounts, new=amounts, start=starts, length=lengths)
def test_change_at_period_start_is_the_full_delta(old, new, start, length):
    end = start + timedelta(seconds=length)
    assert prorate(old, new, start, end, start) == new - old


@settings(max_examples=1000)
@given(old=amounts, new=amounts, start=starts, length=lengths, late=st.integers(0, 10**6))
def test_change_at_or_after_period_end_is_zero(old, new, start, length, late):
    end = start + timedelta(seconds=length)
    assert prorate(old, new, start, end, end + timedelta(seconds=late)) == 0


@settings(max_examples=1000)
@given(old=amounts, new=amounts, start=starts, length=lengths, data=st.data())
def test_rounding_error_is_at_most_half_a_minor_unit(old, new, start, length, data):
    elapsed = data.draw(st.integers(0, length))
    end = start + timedelta(seconds=length)
    exact = Fraction((new - old) * (length - elapsed), length)
    result = prorate(old, new, start, end, start + timedelta(seconds=elapsed))
    assert abs(result - exact) <= Fraction(1, 2)
    assert abs(result) <= abs(new - old)


@settings(max_examples=1000)
@given(old=amounts, new=amounts, start=starts, length=lengths, data=st.data())
def test_proration_is_antisymmetric(old, new, start, length, data):
    at = start + timedelta(seconds=data.draw(st.integers(0, length)))
    end = start + timedelta(seconds=length)
    assert prorate(old, new, start, end, at) == -prorate(new, old, start, end, at)


def test_empty_period_is_refused():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="after period_start"):
        prorate(1, 2, start, start, start)


def test_monthly_periods_keep_the_anchor_day():
    anchor = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
    assert [period_boundary(anchor, "month", n).date().isoformat() for n in range(1, 5)] == [
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
    ]
    assert add_months(datetime(2028, 1, 31, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert period_boundary(datetime(2028, 2, 29, tzinfo=UTC), "year", 1) == datetime(2029, 2, 28, tzinfo=UTC)


@settings(max_examples=1000)
@given(anchor=starts, interval=st.sampled_from(["month", "year"]), periods=st.integers(1, 300))
def test_next_boundary_walks_the_anchored_cycle(anchor, interval, periods):
    boundary = period_boundary(anchor, interval, periods)
    assert next_boundary(anchor, interval, boundary - timedelta(seconds=1)) == boundary
    assert next_boundary(anchor, interval, period_boundary(anchor, interval, periods - 1)) == boundary
    last_day = (boundary + timedelta(days=1)).month != boundary.month
    assert boundary.day == anchor.day or (boundary.day < anchor.day and last_day)
