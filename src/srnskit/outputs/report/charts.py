"""The report's figures as Vega-Lite specifications (Altair), defined by clinical.md §9.

Each function returns a plain dict (a Vega-Lite spec with its data inlined), so the same figure
is drawn interactively in the HTML and as SVG / PNG by vl-convert, with no request anywhere.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from srnskit.analysis.study import Study
from srnskit.outputs.report.numbers import fmt_number, fmt_p

__all__ = [
    "FONT",
    "cumulative_incidence",
    "egfr_paired",
    "egfr_trajectories",
    "figures",
    "km_subtitle",
    "remission_curves",
    "toxicity",
]

GROUP_COLOURS = ("#1f77b4", "#d62728")  # the comparison group, then the combined group
# Drawn and measured in the font the PDF renders them in (WeasyPrint draws an SVG's text with
# the system's fonts): labels measured in one font and drawn in a wider one overflow and clip.
FONT = "DejaVu Sans"
# The widest figure, legend and labels included, stays inside the A4 text width (210 mm less
# the report's 2 × 14 mm margins = 182 mm ≈ 688 CSS px): plot 480 + axis and labels ≈ 640.
WIDTH = 480
RISK_EVERY_MONTHS = 3
MAX_LINES = 300  # per-child lines drawn; more are unreadable, so a fixed random sample is drawn
SAMPLE_SEED = 2023


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


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    # The data are already reduced here (steps of a curve, a sample of lines): no row limit.
    with alt.data_transformers.disable_max_rows():
        spec: dict[str, Any] = chart.to_dict()
    spec.pop("$schema", None)  # a URL; nothing is fetched from it, but keep the spec offline
    config = spec.setdefault("config", {})
    config["font"] = FONT
    return spec


def _group_scale(study: Study) -> alt.Scale:
    return alt.Scale(domain=list(study.groups), range=list(GROUP_COLOURS))


def _colour(study: Study, *, legend: bool = True) -> alt.Color:
    """The regimen's colour; its legend (when ``legend``) under the plot, symbols drawn as the
    curves are (a line in the curve's colour), so it never widens the figure."""
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


def remission_curves(study: Study) -> dict[str, Any]:
    """Figure 1: Kaplan–Meier cumulative remission by regimen, 95% bands, censoring, at risk."""
    km = study.km
    rows = []
    for name, g in km.groupby("group"):
        n0 = int(g.n_risk.iloc[0])
        rows.append(
            {
                "group": name,
                "time": 0.0,
                "n_risk": n0,
                "n_censor": 0,
                "remission": 0.0,
                "low": 0.0,
                "high": 0.0,
            }
        )
        for r in g.itertuples():
            rows.append(
                {
                    "group": name,
                    "time": float(r.time),
                    "n_risk": int(r.n_risk),
                    "n_censor": int(r.n_censor),
                    "remission": 1 - float(r.survival),
                    # cumulative remission = 1 − S: its band is 1 − the survival band
                    "low": None if np.isnan(r.upper) else 1 - float(r.upper),
                    "high": None if np.isnan(r.lower) else 1 - float(r.lower),
                }
            )
    data = pd.DataFrame(rows)
    title = "Cumulative remission by regimen (Kaplan–Meier, 95% CI)"
    subtitle = km_subtitle(study)
    base = alt.Chart(data).encode(
        x=alt.X("time:Q", title="months from course start", scale=alt.Scale(nice=False)),
        color=_colour(study, legend=False),
    )
    step = base.mark_line(interpolate="step-after", strokeWidth=2).encode(
        color=_colour(study),
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
            "n_risk:Q",
        ],
    )
    band = base.mark_area(interpolate="step-after", opacity=0.15).encode(y="low:Q", y2="high:Q")
    censored = (
        base.transform_filter("datum.n_censor > 0")
        .mark_point(shape="cross", size=40, opacity=0.9)
        .encode(y="remission:Q")
    )
    curves = (step + band + censored).properties(
        width=WIDTH, height=280, title=alt.Title(title, subtitle=subtitle)
    )
    horizon = float(km.time.max()) if len(km) else 0.0
    ticks = np.arange(0, horizon + 1e-9, RISK_EVERY_MONTHS)
    at_risk = []
    for name, g in km.groupby("group"):
        for t in ticks:
            later = g[g.time >= t]
            at_risk.append(
                {
                    "group": name,
                    "time": float(t),
                    "n": int(later.n_risk.iloc[0]) if len(later) else 0,
                }
            )
    table = (
        alt.Chart(pd.DataFrame(at_risk))
        .mark_text(fontSize=11)
        .encode(
            x=alt.X(
                "time:Q", title=None, axis=None, scale=alt.Scale(domain=[0, horizon], nice=False)
            ),
            y=alt.Y(
                "group:N",
                title=None,
                sort=list(study.groups),
                # the padding keeps a label apart from the first count, centred on month 0
                axis=alt.Axis(labelLimit=260, labelPadding=18, domain=False, ticks=False),
            ),
            text="n:Q",
            color=alt.Color(
                "group:N",
                legend=None,
                scale=_group_scale(study),
            ),
        )
        .properties(
            width=WIDTH,
            height=50,
            title=alt.Title("number at risk", fontSize=11, anchor="start", fontWeight="normal"),
        )
    )
    return _spec(alt.vconcat(curves, table, spacing=6))


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
    return _spec(
        (lines + dots + means).properties(
            width=230,
            height=300,
            title=alt.Title("First versus last eGFR", subtitle=subtitles),
        )
    )


def egfr_trajectories(study: Study) -> dict[str, Any]:
    """Figure 2b: eGFR over time since onset, one line per patient, CKD G3 and G5 marked."""
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
    thresholds = pd.DataFrame({"egfr": [60, 15], "label": ["60: CKD G3", "15: kidney failure"]})
    rules = alt.Chart(thresholds).mark_rule(strokeDash=[4, 4], color="#d62728").encode(y="egfr:Q")
    return _spec(
        (lines + rules).properties(
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
    return _spec(
        (bars + whiskers).properties(
            width=WIDTH - 120,
            height=max(60, 18 * len(rows)),
            title="Adverse events per drug (Wilson 95% CI)",
        )
    )


STATE_WORDS = {
    "remission": "remission",
    "course_end": "course ended without remission",
    "kidney_failure": "kidney failure",
    "death": "death",
}


def cumulative_incidence(study: Study) -> dict[str, Any]:
    """Figure 1b: the Aalen–Johansen cumulative incidence of remission by regimen (solid, with
    its 95% band) and of each competing event that occurred (dashed), from the course start."""
    cif = study.cumulative_incidence
    occurred = [
        state
        for state in STATE_WORDS
        if state in set(cif.state) and (cif[cif.state == state].estimate > 0).any()
    ]
    rows = []
    for (group, state), g in cif[cif.state.isin(occurred)].groupby(["group", "state"]):
        rows.append({"group": group, "state": state, "time": 0.0, "estimate": 0.0})
        rows += [
            {
                "group": group,
                "state": state,
                "time": float(r.time_months),
                "estimate": float(r.estimate),
                "low": float(r.ci_low) if pd.notna(r.ci_low) else None,
                "high": float(r.ci_high) if pd.notna(r.ci_high) else None,
            }
            for r in g.itertuples()
        ]
    data = pd.DataFrame(rows, columns=["group", "state", "time", "estimate", "low", "high"])
    data["event"] = data.state.map(STATE_WORDS)
    events = [STATE_WORDS[s] for s in occurred]
    dash = alt.StrokeDash(
        "event:N",
        title="event",
        scale=alt.Scale(domain=events, range=[[1, 0], [6, 3], [2, 2], [8, 2, 2, 2]][: len(events)]),
        legend=alt.Legend(
            orient="bottom", direction="vertical", symbolStrokeWidth=2, labelLimit=320
        ),
    )
    x = alt.X("time:Q", title="months from course start", scale=alt.Scale(nice=False))
    y = alt.Y(
        "estimate:Q",
        title="cumulative incidence",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    base = alt.Chart(data).encode(x=x)
    lines = base.mark_line(interpolate="step-after", strokeWidth=2).encode(
        y=y,
        color=_colour(study),
        strokeDash=dash,
        detail="state:N",
        tooltip=[
            "group:N",
            "event:N",
            alt.Tooltip("time:Q", format=".1f"),
            alt.Tooltip("estimate:Q", format=".1%"),
        ],
    )
    band = (
        base.transform_filter("datum.state == 'remission'")
        .mark_area(interpolate="step-after", opacity=0.12)
        .encode(y="low:Q", y2="high:Q", color=_colour(study, legend=False))
    )
    title = alt.Title(
        "Cumulative incidence of remission and competing events (Aalen–Johansen)",
        subtitle="remission before the course ended; band: 95% CI of remission",
    )
    return _spec((lines + band).properties(width=WIDTH, height=260, title=title))


def figures(study: Study) -> dict[str, dict[str, Any]]:
    """Every chart of the report, by file stem."""
    out = {}
    if len(study.km):
        out["figure1_remission"] = remission_curves(study)
    if len(study.cumulative_incidence) and (study.cumulative_incidence.estimate > 0).any():
        out["figure1b_cumulative_incidence"] = cumulative_incidence(study)
    if len(study.egfr_pairs):
        out["figure2a_egfr_first_last"] = egfr_paired(study)
    if len(study.egfr_trajectories):
        out["figure2b_egfr_trajectories"] = egfr_trajectories(study)
    if len(study.toxicity) and (study.toxicity.event != "any").any():
        out["toxicity"] = toxicity(study)
    return out
