"""The timeline's lanes of periods and days: disease states and regimen courses, treatments
(one lane per drug), adverse events and events. Each reads rows gathered by ``outputs.explain``
from the engine's tables and returns one panel (a layered Vega-Lite view)."""

from __future__ import annotations

from typing import Any

from srnskit.outputs.explain import RESPONSE_WORDS, STATE_WORDS, course_words, treatment_words
from srnskit.outputs.timeline.marks import (
    FAINT,
    INK,
    LANE,
    MUTED,
    STATE_COLOURS,
    Axis,
    after,
    iso,
    labels,
    lanes_y,
    layer,
    text_layers,
    tooltip_of,
    x_of,
)
from srnskit.schema import DRUGS

__all__ = ["events_panel", "states", "treatments"]

_STEROIDS = ("prednisone", "prednisolone", "methylprednisolone")


def states(
    axis: Axis,
    episodes: list[dict[str, Any]],
    courses: list[dict[str, Any]],
    relapses: set[Any],
    told: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The patient's labels (``told``: ``outcome.outcome_labels``), one lane each, a triangle
    at the label's date with its words beside it and its evidence in the tooltip; then the
    disease-state episodes as coloured bars (legend above) and the regimen courses as grey bars
    labelled with their response, a diamond on each course's remission date."""
    told = told or []
    lanes = [label["lane"] for label in told] + ["disease state", "regimen course"]
    marked = [
        {
            "lane": label["lane"],
            "start": iso(label["date"]),
            "text": label["text"],
            "tip": label["tip"],
            # the words before the mark when they would run past the axis' end (a character
            # ≈ 0.6 × the 10 px font)
            "side": "right"
            if axis.px(label["date"]) + 6 * len(label["text"]) > axis.width
            else "left",
        }
        for label in told
    ]
    bars = [
        {
            "lane": "disease state",
            "start": iso(e["start_date"]),
            "end": after(e["end_date"]),
            "state": STATE_WORDS[e["state"]],
            "tip": f"{e['start_date']} → {e['end_date']}: {STATE_WORDS[e['state']]}"
            + (" (relapse)" if e["state"] == "nephrotic" and e["start_date"] in relapses else "")
            + f"; rule {e['rule']}"
            + (f"; evidence {e['evidence']}" if e["evidence"] else ""),
        }
        for e in episodes
    ]
    colour = {
        "field": "state",
        "type": "nominal",
        "title": "disease state",
        "scale": {
            "domain": [STATE_WORDS[s] for s in STATE_COLOURS],
            "range": [*STATE_COLOURS.values()],
        },
        "legend": {"orient": "top", "direction": "horizontal", "titleFontSize": 11},
    }
    y = lanes_y(lanes)
    layers = [
        layer(
            bars,
            {"type": "bar", "height": 12},
            x=x_of(),
            x2={"field": "end"},
            y=y,
            color=colour,
            tooltip=tooltip_of(),
        )
    ]
    spans = [
        {
            "lane": "regimen course",
            "start": iso(c["start_date"]),
            "end": after(c["end_date"]),
            "tip": f"{c['start_date']} → {c['end_date']}: {course_words(c)}",
        }
        for c in courses
    ]
    layers.append(
        layer(
            spans,
            {"type": "bar", "height": 12, "color": FAINT, "stroke": MUTED},
            x=x_of(),
            x2={"field": "end"},
            y=y,
            tooltip=tooltip_of(),
        )
    )
    remissions = [
        {
            "lane": "regimen course",
            "start": iso(c["response_date"]),
            "tip": f"course {c['course_no']}: {RESPONSE_WORDS[c['response']]} "
            f"from {c['response_date']}",
        }
        for c in courses
        if c["response_date"]
    ]
    layers.append(
        layer(
            remissions,
            {"type": "point", "shape": "diamond", "filled": True, "size": 70, "color": INK},
            x=x_of(),
            y=y,
            tooltip=tooltip_of(),
        )
    )
    said = [
        (c["start_date"], "regimen course", f"{c['regimen']}: {RESPONSE_WORDS[c['response']]}")
        for c in courses
    ]
    if marked:
        layers.append(
            layer(
                marked,
                {"type": "point", "shape": "triangle-down", "filled": True, "size": 60,
                 "color": INK},
                x=x_of(),
                y=y,
                tooltip=tooltip_of(),
            )
        )  # fmt: skip
        for side, dx in (("left", 7), ("right", -7)):
            text = {"type": "text", "align": side, "dx": dx, "fontSize": 10, "color": INK}
            beside = [m for m in marked if m["side"] == side]
            layers.append(
                layer(beside, text, x=x_of(), y=y, text={"field": "text"}, tooltip=tooltip_of())
            )
    layers += text_layers(labels(axis, said), -11)
    return {"height": LANE * len(lanes), "layer": layers}


def treatments(axis: Axis, exposures: list[dict[str, Any]]) -> dict[str, Any]:
    """One lane per drug (the vocabulary's order, steroids first): a bar from start to active
    end (an ongoing row to the last follow-up); alternate-day steroids paler; a rituximab
    infusion a point, its active days a faint bar; each steroid row's dose written above it."""
    present = {r["drug"] for r in exposures}
    units = {d: {r["dose_unit"] for r in exposures if r["drug"] == d} - {None} for d in present}
    names = {
        d: d + (f" ({next(iter(u))})" if len(u) == 1 and d in _STEROIDS else "")
        for d, u in units.items()
    }
    lanes = [names[d] for d in DRUGS if d in present]
    y = lanes_y(lanes)
    rows, infusions, doses = [], [], []
    for r in exposures:
        infusion = r["drug"] == "rituximab"
        end = r["active_end"] or r["end_date"] or r["start_date"]
        row = {
            "lane": names[r["drug"]],
            "start": iso(r["start_date"]),
            "end": after(end),
            "tip": f"{r['start_date']}: {treatment_words(r)}"
            if infusion
            else f"{r['start_date']} → {r['end_date'] or end}: {treatment_words(r)}",
            "kind": "active after infusion"
            if infusion
            else "alternate days"
            if r["schedule"] == "alternate_day"
            else "given",
        }
        rows.append(row)
        if infusion:
            infusions.append(row)
        if r["drug"] in _STEROIDS and r["dose"] is not None:
            unit = "" if len(units[r["drug"]]) == 1 else f" {r['dose_unit']}"
            alternate = " alt" if r["schedule"] == "alternate_day" else ""
            doses.append((r["start_date"], names[r["drug"]], f"{r['dose']:g}{unit}{alternate}"))
    shade = {
        "field": "kind",
        "type": "nominal",
        "title": "treatment",
        "scale": {
            "domain": ["given", "alternate days", "active after infusion"],
            "range": ["#555555", "#aaaaaa", "#dddddd"],
        },
        "legend": {"orient": "top", "direction": "horizontal", "titleFontSize": 11},
    }
    layers = [
        layer(
            rows,
            {"type": "bar", "height": 10},
            x=x_of(),
            x2={"field": "end"},
            y=y,
            color=shade,
            tooltip=tooltip_of(),
        ),
        layer(
            infusions,
            {"type": "point", "filled": True, "size": 50, "color": INK},
            x=x_of(),
            y=y,
            tooltip=tooltip_of(),
        ),
        *text_layers(labels(axis, doses, size=9), -10, size=9),
    ]
    return {"height": LANE * len(lanes), "layer": layers}


def events_panel(
    axis: Axis, adverse: list[tuple[Any, str, Any, list[str]]], events: list[dict[str, Any]]
) -> dict[str, Any]:
    """Adverse events (with grade and attributed drugs) and events (dialysis, transplant, death,
    loss to follow-up, last visit) as ticks in two lanes, named where the names fit."""
    lanes = ["adverse events", "events"]
    ticks, told = [], []
    for day, event, grade, drugs in adverse:
        words = event.replace("_", " ") + (f" (grade {grade})" if grade is not None else "")
        tip = f"{day}: {words}, " + (
            f"attributed to {', '.join(drugs)}" if drugs else "no drug active"
        )
        ticks.append({"start": iso(day), "lane": lanes[0], "tip": tip})
        told.append((day, lanes[0], event.replace("_", " ")))
    same_day: dict[Any, list[str]] = {}
    for row in events:
        words = row["event"].replace("_", " ")
        ticks.append(
            {"start": iso(row["date"]), "lane": lanes[1], "tip": f"{row['date']}: {words}"}
        )
        same_day.setdefault(row["date"], []).append(words)
    told += [(day, lanes[1], ", ".join(names)) for day, names in same_day.items()]
    y = lanes_y(lanes)
    return {
        "height": LANE * len(lanes),
        "layer": [
            layer(
                ticks,
                {"type": "tick", "thickness": 2, "size": 14, "color": INK},
                x=x_of(),
                y=y,
                tooltip=tooltip_of(),
            ),
            *text_layers(labels(axis, told, size=9), -10, size=9),
        ],
    }
