"""The timeline's shared pieces: sizes and colours, the time axis, and small Vega-Lite layer
builders (bars, labels placed apart, reference lines) that every panel uses."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

__all__ = [
    "AFTER_KRT",
    "AXIS_WIDTH",
    "FAINT",
    "FONT",
    "INK",
    "LANE",
    "MUTED",
    "MUTED_TEXT",
    "STATE_COLOURS",
    "WIDTH",
    "Axis",
    "after",
    "iso",
    "labels",
    "lanes_y",
    "layer",
    "panel_title",
    "references",
    "text_layers",
    "tooltip_of",
    "x_of",
]

FONT = "DejaVu Sans"  # the report's figures' font (outputs/report/charts.py)
WIDTH = 760  # px of the time axis
LANE = 28  # px per lane of bars
AXIS_WIDTH = 150  # px for every panel's y labels, so that the panels' time axes line up
# Okabe & Ito's colour-blind-safe palette: the states from worst to best, and the marks.
STATE_COLOURS = {
    "nephrotic": "#D55E00",
    "partial_remission": "#E69F00",
    "complete_remission": "#0072B2",
}
INK, MUTED, FAINT = "#333333", "#888888", "#cccccc"
# Grey for words (MUTED is for lines): the pages' muted text colour, 8.9:1 on white and at least
# 5.7:1 on the CKD bands (WCAG's 4.5:1 for text; MUTED is 3.5:1).
MUTED_TEXT = "#4a4a4a"
AFTER_KRT = "#CC79A7"


class Axis:
    """The shared time axis: first to last date, padded, ``width`` px long, and a date's
    position in pixels (for placing labels apart; Vega-Lite draws the marks)."""

    def __init__(self, first: dt.date, last: dt.date, width: int = WIDTH) -> None:
        pad = dt.timedelta(days=max(7, (last - first).days // 40))
        self.start, self.end = first - pad, last + pad
        self.width = width

    def px(self, day: dt.date) -> float:
        return (day - self.start).days / max(1, (self.end - self.start).days) * self.width

    def domain(self) -> list[str]:
        return [iso(self.start), iso(self.end)]

    def ticks(self) -> dict[str, str]:
        """Years over a long follow-up, months over a shorter one, days over a few weeks."""
        days = (self.end - self.start).days
        if days > 3 * 365:
            return {"format": "%Y", "tickCount": "year"}
        if days > 90:
            return {"format": "%b %Y", "tickCount": "month"}
        return {"format": "%d %b %Y", "tickCount": "week"}


def iso(day: dt.date) -> str:
    return day.isoformat()


def after(day: dt.date) -> str:
    """The day after ``day``: a bar drawn to it covers ``day`` (periods are inclusive)."""
    return iso(day + dt.timedelta(days=1))


def layer(data: list[dict[str, Any]], mark: dict[str, Any], **encoding: Any) -> dict[str, Any]:
    return {"data": {"values": data}, "mark": mark, "encoding": encoding}


def x_of(field: str = "start") -> dict[str, Any]:
    return {"field": field, "type": "temporal"}


def tooltip_of() -> dict[str, Any]:
    return {"field": "tip", "type": "nominal"}


def lanes_y(lanes: list[str]) -> dict[str, Any]:
    """A y encoding of named lanes, in ``lanes``' order."""
    return {
        "field": "lane",
        "type": "nominal",
        "sort": lanes,
        "scale": {"domain": lanes},
        "title": None,
        "axis": {"labelLimit": AXIS_WIDTH - 10, "ticks": False},
    }


def labels(
    axis: Axis, items: list[tuple[dt.date, str, str]], *, size: int = 10
) -> list[dict[str, Any]]:
    """Text labels (date, lane, text) kept only where they do not run into the previous label
    of their lane (a character ≈ 0.6 × the font size); a label that would run past the end of
    the axis ends at its mark instead (``side``). The tooltips still tell every mark."""
    right: dict[str, float] = {}
    kept = []
    for day, lane, text in sorted(items, key=lambda item: item[0]):
        width = 0.6 * size * len(text)
        left, side = axis.px(day), "left"
        if left + width > axis.width:
            left, side = left - width, "right"
        if left >= max(right.get(lane, -math.inf), 0):
            kept.append({"start": iso(day), "lane": lane, "text": text, "side": side})
            right[lane] = left + width + 4
    return kept


def text_layers(rows: list[dict[str, Any]], dy: int, size: int = 10) -> list[dict[str, Any]]:
    """Two text layers: the labels left-aligned at their mark, and those ending at it."""
    return [
        layer(
            [r for r in rows if r["side"] == side],
            {
                "type": "text",
                "align": side,
                "dy": dy,
                "dx": 1 if side == "left" else -1,
                "fontSize": size,
                "color": INK,
            },
            x=x_of(),
            y={"field": "lane", "type": "nominal"},
            text={"field": "text"},
        )
        for side in ("left", "right")
    ]


def panel_title(text: str, notes: list[str]) -> dict[str, Any]:
    title: dict[str, Any] = {"text": text, "anchor": "start", "fontSize": 11, "offset": 4}
    if notes:
        title |= {"subtitle": "; ".join(notes), "subtitleColor": MUTED_TEXT, "subtitleFontSize": 10}
    return title


def references(
    lines: list[dict[str, Any]], y: dict[str, Any], colours: dict[str, str] | None
) -> list[dict[str, Any]]:
    """Dashed horizontal lines (value, text, state) in their state's colour (grey without
    ``colours``, leaving the panel's colour scale to its points), each named at the right end
    in grey words (``MUTED_TEXT``: the states' orange is too pale for text): above the line,
    or below it when an earlier line has the same value."""
    seen: set[float] = set()
    for line in lines:
        line["side"] = "below" if line["value"] in seen else "above"
        seen.add(line["value"])
    colour: dict[str, Any] = {}
    if colours:
        scale = {"domain": list(colours), "range": list(colours.values())}
        colour["color"] = {"field": "state", "type": "nominal", "legend": None, "scale": scale}
    tint = {} if colours else {"color": MUTED}
    rule = {"type": "rule", "strokeDash": [5, 3], "strokeWidth": 1.5, **tint}
    layers = [layer(lines, rule, y=y, **colour)]
    for side, dy in (("above", -6), ("below", 8)):
        # "x": "width" is the right end of the panel, whatever its width
        text = {"type": "text", "align": "right", "dy": dy, "dx": -2, "fontSize": 10, "x": "width"}
        text["color"] = MUTED_TEXT
        named = [line for line in lines if line["side"] == side]
        layers.append(layer(named, text, y=y, text={"field": "text"}))
    return layers
