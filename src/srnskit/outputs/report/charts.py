"""The report's figures as Vega-Lite specifications (Altair), defined by clinical.md §9.

Each function returns a plain dict (a Vega-Lite spec with its data inlined), so the same figure
is drawn interactively in the HTML and as SVG / PNG by vl-convert, with no request anywhere.
"""

from __future__ import annotations

import json
import math
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from srnskit.analysis.study import Study
from srnskit.outputs.report.numbers import fmt_number, fmt_p

__all__ = [
    "FONT",
    "band_rows",
    "egfr_paired",
    "egfr_trajectories",
    "km_subtitle",
    "month_ticks",
    "remission_curves",
    "toxicity",
    "vega_spec",
]

GROUP_COLOURS = ("#1f77b4", "#d62728")  # the comparison group, then the combined group
# Drawn and measured in the font the PDF renders them in (WeasyPrint draws an SVG's text with
# the system's fonts): labels measured in one font and drawn in a wider one overflow and clip.
FONT = "DejaVu Sans"
# The widest figure, legend and labels included, stays inside the A4 text width (210 mm less
# the report's 2 × 14 mm margins = 182 mm ≈ 688 CSS px): plot 480 + axis and labels ≈ 640.
WIDTH = 480
# Month axes tick every 1, 2, 3, 6, 12, 24 or 60 months, the first step giving fewer than
# MAX_TICKS ticks; the axis ends at the first tick after the last time, so a jump there shows.
MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60)
MAX_TICKS = 10
AXIS_MARGIN = 0.05  # the axis runs at least 5% past the last time
PANEL_TICKS = 6  # a half-width panel (Figure 1b) has room for fewer
LEGEND_SYMBOL_SIZE = 900  # a stroke symbol's length is √size: 30 px shows a dash pattern whole
MAX_LINES = 300  # per-child lines drawn; more are unreadable, so a fixed random sample is drawn
SAMPLE_SEED = 2023


def month_ticks(horizon: float, max_ticks: int = MAX_TICKS) -> list[float]:
    """The tick times (months) of an axis whose data end at ``horizon``: from 0 every step of
    ``MONTH_STEPS`` (the first giving fewer than ``max_ticks`` intervals) up to the first tick
    at least ``AXIS_MARGIN`` beyond ``horizon``, which ends the axis, so a jump at the last time
    is not drawn on the border (44.6 → 0, 6, …, 48; 3.4 → 0, 1, …, 4; 0.99 → 0, 1, 2)."""
    step = next((s for s in MONTH_STEPS if horizon / s < max_ticks), MONTH_STEPS[-1])
    last = step * math.ceil(horizon * (1 + AXIS_MARGIN) / step)
    if last <= horizon:
        last += step
    return [float(t) for t in range(0, last + 1, step)]


def band_rows(
    times: list[float], lows: list[float | None], highs: list[float | None]
) -> list[dict[str, Any]]:
    """A step function's 95% band as drawable pieces: ``time, low, high, segment`` rows where
    each run of intervals with a band of positive width (``low < high``, both known) is one
    segment, closed by a point at the run's end repeating its last values, so the band ends
    with a vertical edge and no zero-width sliver (a sliver prints as a hairline in the PDF).
    The band of point i covers [times[i], times[i + 1]); the last point covers no time and
    draws nothing. ``times`` ascending."""
    rows: list[dict[str, Any]] = []
    segment = 0
    open_run = False
    for i in range(len(times) - 1):
        low, high = lows[i], highs[i]
        width = times[i + 1] > times[i]
        drawn = low is not None and high is not None and high > low and width
        if drawn:
            rows.append({"time": times[i], "low": low, "high": high, "segment": segment})
            open_run = True
        if open_run and (not drawn or i == len(times) - 2 or not _drawn(lows, highs, i + 1)):
            last = rows[-1]
            rows.append(
                {"time": times[i + 1], "low": last["low"], "high": last["high"], "segment": segment}
            )
            segment += 1
            open_run = False
    return rows


def _drawn(lows: list[float | None], highs: list[float | None], i: int) -> bool:
    low, high = lows[i], highs[i]
    return low is not None and high is not None and high > low


def _sample_children(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """At most MAX_LINES children's rows (a fixed random sample), and a note when sampled."""
    children = frame.patient_id.drop_duplicates()
    if len(children) <= MAX_LINES:
        return frame, ""
    kept = children.sample(MAX_LINES, random_state=SAMPLE_SEED)
    return (
        frame[frame.patient_id.isin(set(kept))],
        f"{MAX_LINES} of {len(children):,} children drawn at random",
    )


def vega_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    # The data are already reduced here (steps of a curve, a sample of lines): no row limit.
    with alt.data_transformers.disable_max_rows():
        spec: dict[str, Any] = chart.to_dict()
    spec.pop("$schema", None)  # a URL; nothing is fetched from it, but keep the spec offline
    config = spec.setdefault("config", {})
    config["font"] = FONT
    return spec


def _group_scale(study: Study) -> alt.Scale:
    return alt.Scale(domain=list(study.groups), range=list(GROUP_COLOURS))


def _colour(study: Study, *, legend: bool = True, **more: Any) -> alt.Color:
    """The regimen's colour; its legend (when ``legend``) under the plot, symbols drawn as the
    curves are (a line in the curve's colour), so it never widens the figure; ``more``: further
    ``alt.Legend`` settings (Figure 1's symbol size and labels with their counts)."""
    return alt.Color(
        "group:N",
        title="regimen",
        scale=_group_scale(study),
        legend=alt.Legend(
            orient="bottom",
            direction="horizontal",
            labelLimit=260,
            symbolType="stroke",
            symbolStrokeWidth=3,
            symbolOpacity=1,
            **more,
        )
        if legend
        else None,
    )


def km_subtitle(study: Study) -> str:
    """Figure 1's subtitle: the p of the test valid for it (``Study.km_test``: the clustered
    Cox model's when the groups share patients, else the log-rank test's), or why none."""
    key = study.km_test or ""
    if key and key in study.tests and study.tests[key].ran:
        line = study.tests[key]
        which = "Cox model clustered by patient" if key == "cox_cluster" else "log-rank"
        return f"{which}: {fmt_p(line.p_value)}"
    if not key and "logrank" in study.tests and study.tests["logrank"].ran:
        return "no p shown: the groups share patients, so the log-rank test does not apply"
    logrank = study.tests.get("logrank")
    return logrank.reason if logrank is not None and logrank.reason else "no test"


def _group_labels(study: Study, counts: dict[str, int]) -> str:
    """A legend ``labelExpr`` naming each group with its courses ("combined (22 courses)", "…
    (no course)"), so a group without one is still named, and said to be missing."""
    expr = "datum.label"
    for name in reversed(study.groups):
        n = counts.get(name, 0)
        label = f"{name} ({n} course{'' if n == 1 else 's'})" if n else f"{name} (no course)"
        expr = f"datum.label === {json.dumps(name)} ? {json.dumps(label)} : ({expr})"
    return expr


def remission_curves(study: Study) -> dict[str, Any]:
    """Figure 1: Kaplan–Meier cumulative remission by regimen, 95% bands, censoring, at risk.

    The month axis ends at the first tick after the last time (``month_ticks``); the numbers
    at risk are given at the same ticks, labelled; the bands are drawn only where they have a
    width (``band_rows``); each group is in the legend with its number of courses, a group
    without a course too."""
    km = study.km
    rows, bands = [], []
    counts: dict[str, int] = {}
    for name, g in km.groupby("group"):
        n0 = int(g.n_risk.iloc[0])
        counts[str(name)] = n0
        curve: list[dict[str, Any]] = [
            {"time": 0.0, "n_censor": 0, "remission": 0.0, "low": None, "high": None}
        ]
        for r in g.itertuples():
            curve.append(
                {
                    "time": float(r.time),
                    "n_censor": int(r.n_censor),
                    "remission": 1 - float(r.survival),
                    # cumulative remission = 1 − S: its band is 1 − the survival band
                    "low": None if np.isnan(r.upper) else 1 - float(r.upper),
                    "high": None if np.isnan(r.lower) else 1 - float(r.lower),
                }
            )
        rows += [{"group": name, **point} for point in curve]
        pieces = band_rows(
            [c["time"] for c in curve], [c["low"] for c in curve], [c["high"] for c in curve]
        )
        bands += [
            {"group": name, **piece, "segment": f"{name} {piece['segment']}"} for piece in pieces
        ]
    data = pd.DataFrame(rows)
    horizon = float(km.time.max()) if len(km) else 0.0
    ticks = month_ticks(horizon)
    x_scale = alt.Scale(domain=[0, ticks[-1]], nice=False)
    title = "Cumulative remission by regimen (Kaplan–Meier, 95% CI)"
    subtitle = km_subtitle(study)
    legend_colour = _colour(
        study, symbolSize=LEGEND_SYMBOL_SIZE, labelExpr=_group_labels(study, counts)
    )
    x = alt.X(
        "time:Q",
        title="months from course start",
        scale=x_scale,
        axis=alt.Axis(values=ticks, format="d"),
    )
    base = alt.Chart(data).encode(x=x, color=_colour(study, legend=False))
    step = base.mark_line(interpolate="step-after", strokeWidth=2).encode(
        color=legend_colour,
        y=alt.Y(
            "remission:Q",
            title="cumulative remission",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        tooltip=[
            "group:N",
            alt.Tooltip("time:Q", format=".1f"),
            alt.Tooltip("remission:Q", format=".1%"),
        ],
    )
    band_data = pd.DataFrame(bands, columns=["group", "time", "low", "high", "segment"])
    band = (
        alt.Chart(band_data)
        .mark_area(interpolate="step-after", opacity=0.15)
        .encode(x=x, y="low:Q", y2="high:Q", detail="segment:N", color=_colour(study, legend=False))
    )
    censored = (
        base.transform_filter("datum.n_censor > 0")
        .mark_point(shape="cross", size=40, opacity=0.9)
        .encode(y="remission:Q")
    )
    curves = (step + band + censored).properties(
        width=WIDTH, height=280, title=alt.Title(title, subtitle=subtitle)
    )
    at_risk = []
    for name in study.groups:
        g = km[km.group == name]
        for t in ticks:
            later = g[g.time >= t]
            at_risk.append(
                {"group": name, "time": t, "n": int(later.n_risk.iloc[0]) if len(later) else 0}
            )
    table = (
        alt.Chart(pd.DataFrame(at_risk))
        .mark_text(fontSize=11)
        .encode(
            # the curves' ticks, labelled: each count stands under the month it counts at
            x=alt.X(
                "time:Q",
                title="months",
                scale=x_scale,
                axis=alt.Axis(
                    values=ticks, format="d", domain=False, ticks=False, grid=False, orient="top"
                ),
            ),
            y=alt.Y(
                "group:N",
                title=None,
                sort=list(study.groups),
                # the padding keeps a label apart from the first count, centred on month 0
                axis=alt.Axis(labelLimit=260, labelPadding=18, domain=False, ticks=False),
            ),
            text="n:Q",
            color=alt.Color("group:N", legend=None, scale=_group_scale(study)),
        )
        .properties(
            width=WIDTH,
            height=50,
            view=alt.ViewConfig(stroke=None),  # no box: the first count sits on month 0
            title=alt.Title("number at risk", fontSize=11, anchor="start", fontWeight="normal"),
        )
    )
    return vega_spec(alt.vconcat(curves, table, spacing=6))


CHILD, MEAN = "one child", "mean of all children"


def egfr_paired(study: Study) -> dict[str, Any]:
    """Figure 2a: first versus last eGFR of each included patient (thin grey lines), their mean
    (a thick black dashed line, in the legend), with the paired test."""
    pairs = study.egfr_pairs
    long = pd.concat(
        [
            pairs.assign(when="first", egfr=pairs.egfr_first),
            pairs.assign(when="last", egfr=pairs.egfr_last),
        ]
    )[["patient_id", "when", "egfr"]]
    test = study.tests["egfr_first_last"]
    if test.ran:
        statistic = f"paired {test.statistic_label or 't'} = {fmt_number(test.statistic, 2)}"
        subtitle = f"{statistic}, {fmt_p(test.p_value)}"
    else:
        subtitle = test.reason
    drawn, note = _sample_children(long)
    subtitles = [subtitle, f"{note} (mean over all)"] if note else [subtitle]
    series = alt.Scale(domain=[CHILD, MEAN], range=["#9a9a9a", "black"])
    dashes = alt.Scale(domain=[CHILD, MEAN], range=[[1, 0], [8, 4]])
    legend = alt.Legend(
        orient="bottom",
        title=None,
        symbolType="stroke",
        symbolStrokeWidth=3,
        symbolOpacity=1,
        labelLimit=260,
    )
    colour = alt.Color("series:N", scale=series, legend=legend)
    dash = alt.StrokeDash("series:N", scale=dashes, legend=legend)
    x = alt.X("when:N", title=None, sort=["first", "last"], axis=alt.Axis(labelAngle=0))
    y = alt.Y("egfr:Q", title="eGFR (mL/min/1.73 m²)")
    children = alt.Chart(drawn.assign(series=CHILD)).encode(x=x, y=y)
    lines = children.mark_line(opacity=0.5, strokeWidth=1).encode(
        detail="patient_id:N", color=colour, strokeDash=dash
    )
    dots = children.mark_point(filled=True, size=18, opacity=0.6, color="#9a9a9a").encode(
        tooltip=["when:N", alt.Tooltip("egfr:Q", format=".1f")]
    )
    mean = long.groupby("when", as_index=False).egfr.mean().assign(series=MEAN)
    means = (
        alt.Chart(mean)
        .mark_line(strokeWidth=3.5, point=alt.OverlayMarkDef(size=70, color="black"))
        .encode(x=x, y=y, color=colour, strokeDash=dash)
    )
    return vega_spec(
        (lines + dots + means).properties(
            width=230,
            height=300,
            title=alt.Title("First versus last eGFR", subtitle=subtitles),
        )
    )


def egfr_trajectories(study: Study) -> dict[str, Any]:
    """Figure 2b: eGFR over time since onset, one line per patient, the G3a threshold (60) and
    kidney failure (15) drawn and labelled, from the study's ``[kidney]`` (severe_below,
    failure_below)."""
    series, note = _sample_children(study.egfr_trajectories)
    lines = (
        alt.Chart(series)
        .mark_line(opacity=0.5, strokeWidth=1)
        .encode(
            x=alt.X("years:Q", title="years since onset"),
            y=alt.Y("egfr:Q", title="eGFR (mL/min/1.73 m²)"),
            detail="patient_id:N",
            tooltip=[alt.Tooltip("years:Q", format=".1f"), alt.Tooltip("egfr:Q", format=".0f")],
        )
    )
    right = float(series.years.max()) if len(series) else 0.0
    severe, failure = study.design.kidney.severe_below, study.design.kidney.failure_below
    thresholds = pd.DataFrame(
        {
            "egfr": [severe, failure],
            "label": [f"{severe:g}: G3a threshold", f"{failure:g}: kidney failure"],
            "years": [right, right],
        }
    )
    rules = alt.Chart(thresholds).mark_rule(strokeDash=[4, 4], color="#d62728").encode(y="egfr:Q")
    labels = (
        alt.Chart(thresholds)
        .mark_text(align="right", baseline="bottom", dy=-3, fontSize=10, color="#d62728")
        .encode(x="years:Q", y="egfr:Q", text="label:N")
    )
    return vega_spec(
        (lines + rules + labels).properties(
            width=WIDTH - 180, height=300, title=alt.Title("eGFR trajectories", subtitle=note)
        )
    )


def toxicity(study: Study) -> dict[str, Any]:
    """Toxicity per drug: share of exposed patients with each event, Wilson 95% CI."""
    rows = study.toxicity[study.toxicity.event != "any"].copy()
    rows["label"] = rows.drug + ": " + rows.event.str.replace("_", " ")
    base = alt.Chart(rows).encode(
        y=alt.Y("label:N", title=None, sort=None),
    )
    bars = base.mark_bar(color="#1f77b4", opacity=0.7).encode(
        x=alt.X("pct:Q", title="% of exposed patients", scale=alt.Scale(domain=[0, 100])),
        tooltip=["label:N", "patients:Q", "exposed:Q", alt.Tooltip("pct:Q", format=".1f")],
    )
    whiskers = base.mark_rule(color="black").encode(x="low:Q", x2="high:Q")
    return vega_spec(
        (bars + whiskers).properties(
            width=WIDTH - 120,
            height=max(60, 18 * len(rows)),
            title="Adverse events per drug (Wilson 95% CI)",
        )
    )
