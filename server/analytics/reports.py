"""The portal analytics report as text for a terminal, with simple bar charts; what customers and merchants
wrote is printed through ``printable``."""

from __future__ import annotations

from collections.abc import Iterable

from server.analytics.portal_analytics import PortalReport
from server.money import format_money
from server.terminal import printable

BAR_WIDTH = 30


def _bars(rows: Iterable[tuple[str, int]]) -> list[str]:
    items = [(printable(label), count) for label, count in rows]
    if not items:
        return ["  (none)"]
    peak = max(count for _, count in items) or 1
    label_width = max(len(label) for label, _ in items)
    lines = []
    for label, count in items:
        bar = "█" * max(1 if count else 0, round(BAR_WIDTH * count / peak))
        lines.append(f"  {label.ljust(label_width)}  {bar} {count}")
    return lines


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "no completed action yet"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _kept(revenue: dict[str, int]) -> str:
    return (
        ", ".join(f"{format_money(amount, currency)}/month" for currency, amount in revenue.items())
        or "nothing"
    )


def _retention(report: PortalReport) -> list[str]:
    funnel = report.retention
    lines = [
        f"Retention: {funnel.started} cancel flows started, {funnel.reason_given} gave a reason, "
        f"{funnel.offers_shown} saw an offer, {funnel.accepted} accepted, {funnel.declined} declined, "
        f"{funnel.canceled} canceled, {funnel.abandoned} abandoned; kept {_kept(funnel.revenue_kept)}",
    ]
    for step in funnel.by_reason:
        offer = f"{step.offer} offer" if step.offer else "no offer"
        lines.append(
            f"  {printable(step.reason)} ({offer}): {step.started} started, {step.offers_shown} shown, "
            f"{step.accepted} accepted, {step.declined} declined, {step.canceled} canceled, "
            f"{step.abandoned} abandoned; kept {_kept(step.revenue_kept)}"
        )
    return lines


def render_report(report: PortalReport, org_name: str) -> str:
    logins = sum(day.count for day in report.logins_per_day)
    methods: dict[str, int] = {}
    for day in report.logins_per_day:
        for method, count in day.by_method.items():
            methods[method] = methods.get(method, 0) + count
    funnel = report.cancel_funnel
    lines = [
        f"Portal analytics for {printable(org_name)}",
        f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC",
        "",
        f"Portal sessions: {logins}  ({', '.join(f'{m} {n}' for m, n in sorted(methods.items())) or 'none'})",
        *_bars((day.day, day.count) for day in report.logins_per_day),
        "",
        "Most viewed sections",
        *_bars(report.views_per_section.items()),
        "",
        "Self-service actions",
        *_bars((f"{a.action} ({a.outcome})", a.count) for a in report.actions),
        "",
        f"Cancel flow: {funnel.started} started, {funnel.completed} completed, {funnel.abandoned} abandoned",
        "Cancellation reasons",
        *_bars((r.reason, r.count) for r in report.cancellation_reasons),
    ]
    for reason in report.cancellation_reasons:
        lines += [f'    {printable(reason.reason)}: "{printable(comment)}"' for comment in reason.comments]
    lines += ["", *_retention(report)]
    median = _duration(report.median_seconds_to_action)
    lines += ["", f"Median time from opening the portal to a completed action: {median}"]
    return "\n".join(lines)
