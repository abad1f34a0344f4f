"""Charts drawn on the server by pygal as inline SVG the portal's strict CSP accepts.

pygal's own ``<style>`` and ``<script>`` (and the style attributes of its script-driven tooltip) are taken
out: portal.css colours the chart. Each bar gets a ``<title>`` (shown on hover over its whole column) and is
focusable with a value label that portal.css shows on hover and focus."""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

import pygal
import pygal.style
from markupsafe import Markup

# pygal appends a legacy import hook for its map plugins (unused here); it has no find_spec, so every import
# that fails anywhere in the process raised an ImportWarning. Taken out again.
sys.meta_path[:] = [hook for hook in sys.meta_path if type(hook).__module__ != "pygal"]

WIDTH, HEIGHT = 360, 170
LABEL_PX = 12
"""Axis text size (pygal leaves room for it; portal.css draws it at this size)."""
AXIS_LABELS = 5
"""About this many dates on the axis, however many days there are."""


@dataclass(frozen=True, slots=True)
class Point:
    """One bar: its axis label, value and the sentence a person reads for it."""

    axis: str
    value: int
    spoken: str


def bar_chart(
    points: list[Point], *, number: Callable[[float], str], counts: bool = False, label_rotation: int = 0
) -> Markup:
    """Bars for ``points`` with a date axis and a value axis whose figures ``number`` formats. ``counts``:
    the value axis steps by whole numbers only; ``label_rotation`` tilts long axis labels (degrees)."""
    chart = pygal.Bar(
        width=WIDTH,
        height=HEIGHT,
        explicit_size=False,
        show_legend=False,
        js=[],
        css=[],
        no_prefix=True,
        disable_xml_declaration=True,
        margin=8,
        margin_top=20,
        spacing=2,
        max_scale=6,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, round(len(points) / AXIS_LABELS)),
        truncate_label=-1,
        value_formatter=number,
        style=pygal.style.Style(label_font_size=LABEL_PX, major_label_font_size=LABEL_PX),
    )
    chart.x_labels = [point.axis for point in points]
    if label_rotation:
        chart.config.x_label_rotation = label_rotation
    if counts:
        top = max(point.value for point in points)
        step = max(1, math.ceil(top / AXIS_LABELS))
        chart.config.y_labels = list(range(0, top + step, step))
    chart.add("", [point.value for point in points])
    svg = chart.render_tree()
    _strip_scripting(svg)
    bars = svg.iter("g")
    for bar, point in zip((g for g in bars if g.get("class") == "bar"), points, strict=True):
        _label_bar(bar, point, number)
    svg.set("class", "ss-chart-svg")
    svg.attrib.pop("id", None)
    svg.set("role", "group")
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704 (pygal's escaped output)


def _strip_scripting(svg: ET.Element) -> None:
    for parent in list(svg.iter()):
        for child in list(parent):
            tag = child.tag if isinstance(child.tag, str) else ""
            kind = child.get("class") or ""
            if tag in ("style", "script", "desc", "title") or not tag or "tooltip-overlay" in kind:
                parent.remove(child)
        parent.attrib.pop("style", None)


def _label_bar(bar: ET.Element, point: Point, number: Callable[[float], str]) -> None:
    rect = bar.find("rect")
    if rect is None:  # pragma: no cover - pygal draws one rect per bar
        return
    rect.set("class", "ss-bar")
    bar.set("tabindex", "0")
    bar.set("role", "img")
    bar.set("aria-label", point.spoken)
    ET.SubElement(bar, "title").text = point.spoken
    # the whole column answers the pointer, so a short bar (or a day at 0) shows its value on hover too
    left, width = rect.get("x", "0"), rect.get("width", "0")
    base = float(rect.get("y", 0)) + float(rect.get("height", 0))
    hit = {"x": left, "y": "0", "width": width, "height": f"{base:.1f}", "class": "ss-hit"}
    bar.insert(0, ET.Element("rect", hit))
    x = float(rect.get("x", 0)) + float(rect.get("width", 0)) / 2
    y = float(rect.get("y", 0)) - 4
    value = ET.SubElement(bar, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", "class": "ss-val"})
    value.text = number(point.value)
