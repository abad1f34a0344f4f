"""Portal analytics in the console: the figures of ``server.analytics.portal_analytics.report`` for the
last 7, 30 or 90 days, each drawn as a chart (``widgets.charts``, pygal's SVG under the strict CSP) with
its numbers in a table beside it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from server import clock
from server.analytics.portal_analytics import PortalReport, report
from server.console.auth import Staff
from server.console.guards import requires_viewer
from server.console.pages import render_page
from server.http.types import AnyRequest
from server.state import app_state
from widgets.charts import Point, bar_chart

RANGES = (7, 30, 90)


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _chart(pairs: list[tuple[str, int]], noun: str, *, dates: bool = False) -> str:
    """A bar chart of (label, count) pairs; empty when there is nothing to draw. Named bars get tilted
    labels (a date axis shows only some dates, level)."""
    if not pairs or not any(count for _, count in pairs):
        return ""
    points = [Point(label, count, f"{label}: {count} {noun}") for label, count in pairs]
    return str(bar_chart(points, number=_count, counts=True, label_rotation=0 if dates else 25))


def daily_sessions(result: PortalReport, days: int) -> list[tuple[str, int]]:
    """Sessions per day over the whole window (days without any included), labelled like "Sep 6"."""
    counted = {day.day: day.count for day in result.logins_per_day}
    first = result.end.date() - timedelta(days=days - 1)
    dates = [first + timedelta(n) for n in range(days)]
    return [(f"{d:%b} {d.day}", counted.get(d.isoformat(), 0)) for d in dates]


class AnalyticsController(Controller):
    path = "/analytics"

    @get("/", name="console-analytics", guards=[requires_viewer])
    async def page(
        self, request: AnyRequest, staff: NamedDependency[Staff], days: FromQuery[int] = 30
    ) -> Response[str]:
        days = days if days in RANGES else 30
        await app_state(request).portal_events.flush()
        end = clock.now()
        result = await report(staff.org.id, end - timedelta(days=days), end)
        sessions = daily_sessions(result, days)
        entries = sorted({method for day in result.logins_per_day for method in day.by_method})
        funnel = result.cancel_funnel
        reasons = [(r.reason.replace("_", " "), r.count) for r in result.cancellation_reasons]
        actions: Counter[str] = Counter()
        for action in result.actions:
            actions[action.action] += action.count
        return render_page(
            request,
            "console/analytics.html",
            days=days,
            ranges=RANGES,
            report=result,
            entries=entries,
            total_sessions=sum(count for _, count in sessions),
            sessions_chart=_chart(sessions, "sessions", dates=True),
            sections_chart=_chart(list(result.views_per_section.items()), "views"),
            actions_chart=_chart(sorted(actions.items()), "actions"),
            reasons_chart=_chart(reasons, "cancellations"),
            funnel_chart=_chart(
                [
                    ("started", funnel.started),
                    ("completed", funnel.completed),
                    ("abandoned", funnel.abandoned),
                ],
                "cancel flows",
            ),
        )
