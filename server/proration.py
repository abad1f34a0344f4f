"""Period arithmetic and proration, both exact: integers only, time to the second.

Monthly and yearly periods advance by calendar months from an anchor moment and keep its day of the month
(an anchor on the 31st gives Jan 31 → Feb 28/29 → Mar 31), so a period boundary never drifts.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from server.enums import Interval

MONTHS_PER_INTERVAL = {Interval.MONTH: 1, Interval.YEAR: 12}


def add_months(anchor: datetime, months: int) -> datetime:
    """``anchor`` moved by ``months`` calendar months, its day clamped to the length of the target month."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def period_boundary(anchor: datetime, interval: str, periods: int) -> datetime:
    """The end of the ``periods``-th period counted from ``anchor``."""
    return add_months(anchor, MONTHS_PER_INTERVAL[Interval(interval)] * periods)


def next_boundary(anchor: datetime, interval: str, after: datetime) -> datetime:
    """The first period boundary of the cycle anchored at ``anchor`` that is strictly later than ``after``."""
    step = MONTHS_PER_INTERVAL[Interval(interval)]
    months = (after.year - anchor.year) * 12 + (after.month - anchor.month)
    periods = max(months // step - 1, 1)
    while (boundary := period_boundary(anchor, interval, periods)) <= after:
        periods += 1
    return boundary


def seconds(delta: timedelta) -> int:
    """Whole seconds in ``delta`` (proration is to the second)."""
    return delta // timedelta(seconds=1)


def divide_rounding_half_away(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero (no floats)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def prorate(
    old_amount: int, new_amount: int, period_start: datetime, period_end: datetime, at: datetime
) -> int:
    """What switching from ``old_amount`` to ``new_amount`` per period at ``at`` adds for the period's rest.

    Positive for an upgrade, negative for a downgrade, to the second, rounded to the nearest minor unit:
    the full delta at the period start, nothing at (or after) its end.
    """
    total = seconds(period_end - period_start)
    if total <= 0:
        raise ValueError("period_end must be after period_start")
    remaining = min(max(seconds(period_end - at), 0), total)
    return divide_rounding_half_away((new_amount - old_amount) * remaining, total)
