"""The timeline figure: its panels stacked on one time axis, and the file it is written to."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from srnskit.atomic import atomic_file, check_parents
from srnskit.errors import UsageError
from srnskit.outputs.explain import adverse_event_groups, why_unknown
from srnskit.outputs.timeline.kidney import albumin_panel, egfr_panel
from srnskit.outputs.timeline.lanes import events_panel, states, treatments
from srnskit.outputs.timeline.marks import (
    AXIS_WIDTH,
    FAINT,
    FONT,
    MUTED,
    MUTED_TEXT,
    WIDTH,
    Axis,
    iso,
    layer,
)
from srnskit.outputs.timeline.measured import PROTEINURIA_PANELS, proteinuria
from srnskit.outputs.timeline.outcome import outcome_labels
from srnskit.outputs.timeline.rows import TimelineRows, rows_from_derived

if TYPE_CHECKING:
    from srnskit.definitions.model import DefinitionSet
    from srnskit.engine import Derived
    from srnskit.studies import StudyDesign

__all__ = [
    "FRAME",
    "MIN_WIDTH",
    "PLOT_SUFFIXES",
    "PNG_SCALE",
    "check_plot_path",
    "timeline",
    "timeline_of",
    "width_to_fit",
    "write_timeline",
]

PLOT_SUFFIXES = (".svg", ".png", ".html")
PNG_SCALE = 2  # a PNG at twice the screen size, sharp when zoomed
# px of a drawn figure beside its time axis: the y labels' AXIS_WIDTH, Vega-Lite's default 5 px
# padding on each side and 4 px more, measured (a 760 px axis is drawn 924 px wide, a 580 px one
# 744 px, with vl-convert and in Chromium alike; a long label may add a pixel or two).
FRAME = AXIS_WIDTH + 14
MIN_WIDTH = 240  # px of the time axis at the least, however narrow the place given


def _why_unknown(rows: TimelineRows, definitions: DefinitionSet) -> str:
    """Why the patient's steroid response is unknown, as explain says it; empty when the rows
    hold no ``initial_steroid_course`` (results stored before it was) or no patient row."""
    if rows.patient is None:
        return ""
    return why_unknown(rows.initial_steroid_course, rows.patient, definitions)


def width_to_fit(total: int) -> int:
    """The time axis' width (px) of a figure drawn ``total`` px wide: ``total`` less ``FRAME``,
    at least ``MIN_WIDTH`` (a narrower place scrolls)."""
    return max(MIN_WIDTH, total - FRAME)


def check_plot_path(target: Path, *, force: bool = False) -> None:
    """Raise ``UsageError`` (exit 2) before any work when ``target`` cannot be the plot: a
    suffix other than ``PLOT_SUFFIXES``, an existing file without ``force``, or a file where a
    folder above it must be (missing folders are created when writing)."""
    if target.suffix.lower() not in PLOT_SUFFIXES:
        allowed = ", ".join(PLOT_SUFFIXES[:-1]) + " or " + PLOT_SUFFIXES[-1]
        raise UsageError(f"--plot {target}: the file name must end in {allowed}")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to replace it")
    check_parents(target)


def write_timeline(spec: dict[str, Any], target: Path, *, force: bool = False) -> None:
    """Write ``spec`` to ``target``, all or nothing (``atomic.atomic_file``, missing folders
    created): ``.svg`` and ``.png`` drawn by vl-convert, ``.html`` a page holding Vega itself
    (``report.render.vega_bundle``), so it opens with no network. Raises ``UsageError`` for
    another suffix or an existing ``target`` without ``force``."""
    import vl_convert

    check_plot_path(target, force=force)
    suffix = target.suffix.lower()
    with atomic_file(target, force=force) as temporary:
        if suffix == ".png":
            temporary.write_bytes(vl_convert.vegalite_to_png(spec, scale=PNG_SCALE))
        elif suffix == ".svg":
            temporary.write_text(vl_convert.vegalite_to_svg(spec), encoding="utf-8")
        else:
            temporary.write_text(_page(spec), encoding="utf-8")


def _page(spec: dict[str, Any]) -> str:
    from srnskit.outputs.report.render import vega_bundle

    title = html.escape(spec["title"]["text"])
    data = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}'
        f"</title>\n<script>{vega_bundle()}</script>\n</head>\n<body>\n"
        f'<div id="timeline"></div>\n<script>\nvegaEmbed("#timeline", {data}, '
        '{actions: false, renderer: "svg"});\n</script>\n</body>\n</html>\n'
    )


def timeline(
    derived: Derived,
    measurements: pa.Table,
    patient_id: str,
    definitions: DefinitionSet,
    study: StudyDesign,
) -> dict[str, Any]:
    """The Vega-Lite specification (a dict, data inlined) of ``patient_id``'s timeline, from
    the engine's result (``srnskit explain --plot``): ``timeline_of`` the rows
    ``rows.rows_from_derived`` gathers.

    ``derived``: the engine's result with its analysis tables, holding the patient;
    ``measurements``: the cohort's measurement rows (canonical units, ``Cohort.to_arrow``), of
    this patient or more. Raises ``UsageError`` for a patient not in ``derived`` and
    ``ValueError`` without analysis tables.
    """
    return timeline_of(rows_from_derived(derived, measurements, patient_id), definitions, study)


def timeline_of(
    rows: TimelineRows, definitions: DefinitionSet, study: StudyDesign, *, width: int = WIDTH
) -> dict[str, Any]:
    """The Vega-Lite specification (a dict, data inlined) of one patient's timeline, drawn
    from ``rows`` (``rows_from_derived`` or ``rows_from_registry``: both draw alike), its time
    axis ``width`` px long (the figure is ``FRAME`` px wider; ``width_to_fit`` gives the axis
    of a figure that must fit a place).

    Panels from the top: the labels (steroid response, CNI response, first remission, each
    with its evidence in the tooltip), the disease states and regimen courses; the
    treatments; each proteinuria stream and unit (log scale, the episodes shaded behind); the
    serum albumin; the eGFR (the CKD bands, kidney replacement therapy marked); the adverse
    events and events. The proteinuria reference lines are the thresholds of the set's
    ``nephrotic``, ``partial_remission`` and ``complete_remission`` rules in the panel's unit,
    the albumin lines those rules' albumin levels; the eGFR lines the study's ``[kidney]``
    ``severe_below`` and ``failure_below``, the bands ``clinical.CKD_STAGES`` (KDIGO 2012).
    """
    patient_id, onset, outcome = rows.patient_id, rows.onset, rows.outcome
    last = onset + dt.timedelta(days=outcome["followup_days"] or 0)
    episodes, courses, exposures, egfr = rows.episodes, rows.courses, rows.exposures, rows.egfr
    adverse = adverse_event_groups(rows.adverse_events)
    events, values = rows.events, rows.measurements
    dates = [onset, last, *(r["date"] for r in values), *(r["date"] for r in egfr)]
    dates += [e["date"] for e in events] + [a[0] for a in adverse]
    dates += [r["start_date"] for r in (*episodes, *exposures)]
    axis = Axis(min(dates), max(dates), width)
    relapses = {r["start_date"] for r in rows.relapses}
    panels: list[dict[str, Any]] = [
        states(
            axis,
            episodes,
            courses,
            relapses,
            outcome_labels(outcome, onset, episodes, courses, _why_unknown(rows, definitions)),
        )
    ]
    missing = []
    if exposures:
        panels.append(treatments(axis, exposures))
    else:
        missing.append("treatments")
    drawn = [
        p
        for p in (
            proteinuria(axis, values, key, definitions, episodes) for key in PROTEINURIA_PANELS
        )
        if p
    ]
    panels += drawn
    if not drawn:
        missing.append("proteinuria")
    albumin = albumin_panel(values, definitions)
    if albumin:
        panels.append(albumin)
    else:
        missing.append("albumin")
    if egfr:
        panels.append(egfr_panel(egfr, study, outcome, width=width))
    else:
        missing.append("eGFR")
    if adverse or events:
        panels.append(events_panel(axis, adverse, events))
    else:
        missing.append("adverse events or events")
    derived_nothing = [
        name
        for name, found in (("disease state", episodes), ("regimen course", courses))
        if not found
    ]
    marks = [
        {"date": iso(onset), "what": "onset", "align": "left"},
        {"date": iso(last), "what": "last follow-up", "align": "right"},
    ]
    if last == onset:  # one day of follow-up: one mark, named once
        marks = [{"date": iso(onset), "what": "onset, last follow-up", "align": "left"}]
    for number, panel in enumerate(panels):
        _finish(panel, axis, marks, top=number == 0, bottom=number == len(panels) - 1)
    age = outcome["onset_age_years"]
    subtitle = [
        f"x: calendar date; onset {onset}"
        + (f" (age {age:.1f} years)" if age is not None else "")
        + f", last follow-up {last}"
    ]
    if missing:
        subtitle.append("nothing recorded: " + ", ".join(missing))
    if derived_nothing:
        subtitle.append("no " + " or ".join(derived_nothing) + " derived")
    return {
        "title": {
            "text": f"{patient_id}: definitions {definitions.name}, study {study.name}",
            "subtitle": subtitle,
            "anchor": "start",
        },
        "vconcat": panels,
        "spacing": 14,
        "resolve": {"scale": {"color": "independent", "shape": "independent"}},
        "config": {"font": FONT, "view": {"stroke": FAINT}, "axis": {"labelFontSize": 11}},
    }


def _finish(
    panel: dict[str, Any], axis: Axis, marks: list[dict[str, str]], *, top: bool, bottom: bool
) -> None:
    """Give ``panel`` the shared time axis (labelled on the bottom panel only), its width and
    the onset and last follow-up rules (named on the top panel)."""
    x = {
        "field": "start",
        "type": "temporal",
        "scale": {"type": "utc", "domain": axis.domain()},
        "axis": {
            "title": "date" if bottom else None,
            "labels": bottom,
            "ticks": bottom,
            **axis.ticks(),
            "grid": True,
            "gridColor": "#eeeeee",
        },
    }
    # The domain is given once, on the rules' layer (first): the layers share the scale, and
    # the same domain repeated on every layer makes Vega-Lite warn of a conflict between its
    # parsed and unparsed forms (a console warning per layer; the drawing is the same).
    shared = {**x, "scale": {"type": "utc"}}
    for view in panel["layer"]:
        if "x" in view["encoding"]:
            view["encoding"]["x"] = {**shared, "field": view["encoding"]["x"]["field"]}
    rules = layer(
        marks, {"type": "rule", "strokeDash": [1, 3], "color": MUTED}, x={**x, "field": "date"}
    )
    panel["layer"].insert(0, rules)
    if top:
        for align, dx in (("left", 3), ("right", -3)):
            mark = {
                "type": "text",
                "align": align,
                "baseline": "top",
                "dx": dx,
                "y": 0,
                "fontSize": 9,
                "color": MUTED_TEXT,
            }
            named = [m for m in marks if m["align"] == align]
            panel["layer"].append(
                layer(named, mark, x={**shared, "field": "date"}, text={"field": "what"})
            )
    panel["width"] = axis.width
    for view in panel["layer"]:
        y = view["encoding"].get("y")
        if isinstance(y, dict) and "axis" in y:
            y["axis"].setdefault("minExtent", AXIS_WIDTH)
            y["axis"].setdefault("maxExtent", AXIS_WIDTH)
