"""The timeline's proteinuria: one panel per stream and unit, with the definition set's
thresholds in that unit and the derived disease states shaded behind the values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from srnskit.definitions.model import THRESHOLD_STREAMS
from srnskit.outputs.explain import STATE_WORDS
from srnskit.outputs.timeline.marks import (
    INK,
    STATE_COLOURS,
    Axis,
    after,
    iso,
    layer,
    panel_title,
    references,
    tooltip_of,
    x_of,
)
from srnskit.schema import DIPSTICK_LEVELS

if TYPE_CHECKING:
    from srnskit.definitions.model import DefinitionSet

__all__ = ["PROTEINURIA_PANELS", "episode_shading", "proteinuria"]

_OPERATORS = {"le": "≤", "lt": "<", "ge": "≥", "gt": ">"}
_RULES = ("nephrotic", "partial_remission", "complete_remission")
# Proteinuria panels (stream, canonical unit, name) in the order the engine reads a day's value
# (quantitative first; cohort/load.py keeps each stream's unit family).
PROTEINURIA_PANELS: tuple[tuple[str, str | None, str], ...] = (
    ("upcr", "mg/mg", "UPCR"),
    ("upcr", "mg/mmol", "UPCR"),
    ("uprot_24h", "g/24h", "24-h protein"),
    ("uprot_24h", "mg/kg/24h", "24-h protein"),
    ("uprot_24h", "mg/m2/h", "24-h protein"),
    ("dipstick", None, "dipstick"),
)
_DIPSTICK_AXIS = {0.0: "neg", 0.5: "trace", 1.0: "1+", 2.0: "2+", 3.0: "3+", 4.0: "4+"}


def proteinuria(
    axis: Axis,
    values: list[dict[str, Any]],
    panel: tuple[str, str | None, str],
    definitions: DefinitionSet,
    episodes: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """One stream and unit's values as points (log scale; a bound drawn as a triangle, a zero
    at the axis floor) with the set's thresholds in that unit as lines in the state's colour,
    over the derived ``episodes`` shaded in their state's colour (``episode_shading``); a rule
    whose thresholds for this stream are all in another unit is named, not drawn. None when
    the patient has no such value."""
    stream, unit, name = panel
    rows = [r for r in values if r["analyte"] == stream and r["unit"] == unit]
    if not rows:
        return None
    key = stream if unit is None else f"{stream}_{unit.replace('/', '_')}"
    lines, elsewhere = [], []
    for rule_name in _RULES:
        thresholds = getattr(definitions, rule_name).thresholds
        for other, comparison in thresholds.items():
            said = f"{STATE_WORDS[rule_name]} {_OPERATORS[comparison.operator]} "
            said += comparison.level or f"{comparison.value:g}"
            if other == key:
                lines.append({"value": comparison.value, "text": said, "state": rule_name})
            elif THRESHOLD_STREAMS[other] == stream and key not in thresholds:
                elsewhere.append(f"{said} {other.removeprefix(stream + '_').replace('_', '/')}")
    dipstick = unit is None
    numbers = [r["value"] for r in rows] + [line["value"] for line in lines]
    floor = min([v for v in numbers if v > 0] or [1.0]) / 2
    points = [
        {
            "start": iso(r["date"]),
            "value": r["value"] if dipstick else max(r["value"], floor),
            "bound": {"<": "below a limit", ">": "above a limit"}.get(
                r["qualifier"] or "", "exact"
            ),
            "tip": f"{r['date']}: {stream} {r['qualifier'] or ''}{r['value']:g}"
            + (f" {unit}" if unit else "")
            + (" (drawn at the axis floor)" if r["value"] <= 0 and not dipstick else ""),
        }
        for r in rows
    ]
    if dipstick:
        scale: dict[str, Any] = {"domain": [-0.4, 4.4], "nice": False}
        y_axis: dict[str, Any] = {
            "values": list(_DIPSTICK_AXIS),
            "labelExpr": _dipstick_expr(),
            "labelOverlap": False,
            "labelFontSize": 9,
        }
    else:
        scale = {"type": "log", "domain": [floor, max(numbers) * 2], "nice": False}
        y_axis = {"tickCount": 4, "format": "~g"}
    y = {"field": "value", "type": "quantitative", "title": None, "scale": scale, "axis": y_axis}
    shape = {
        "field": "bound",
        "type": "nominal",
        "legend": None,
        "scale": {
            "domain": ["exact", "below a limit", "above a limit"],
            "range": ["circle", "triangle-down", "triangle-up"],
        },
    }
    notes = [f"not read by {definitions.name}"] if stream not in definitions.streams else []
    if elsewhere:
        notes.append("not drawn, in another unit: " + "; ".join(elsewhere))
    return {
        "height": 100,
        "title": panel_title(f"{name} ({unit})" if unit else name, notes),
        "layer": [
            *episode_shading(episodes or []),
            *references(lines, y, STATE_COLOURS),
            layer(
                points,
                {"type": "point", "filled": True, "size": 30, "color": INK},
                x=x_of(),
                y=y,
                shape=shape,
                tooltip=tooltip_of(),
            ),
        ],
    }


def _dipstick_expr() -> str:
    named = {level: name for name, level in DIPSTICK_LEVELS.items() if name != "negative"}
    cases = " : ".join(f"datum.value == {level} ? '{name}'" for level, name in named.items())
    return f"{cases} : ''"


def episode_shading(episodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The derived disease states as faint full-height bands in their state's colour (behind
    a panel's values, so a value reads against the state the engine gave its day); none
    without episodes."""
    if not episodes:
        return []
    bands = [
        {
            "start": iso(e["start_date"]),
            "end": after(e["end_date"]),
            "state": e["state"],
            "tip": f"{e['start_date']} → {e['end_date']}: {STATE_WORDS[e['state']]}",
        }
        for e in episodes
    ]
    scale = {"domain": list(STATE_COLOURS), "range": list(STATE_COLOURS.values())}
    return [
        layer(
            bands,
            {"type": "rect", "opacity": 0.12},
            x=x_of(),
            x2={"field": "end"},
            color={"field": "state", "type": "nominal", "legend": None, "scale": scale},
            tooltip=tooltip_of(),
        )
    ]
