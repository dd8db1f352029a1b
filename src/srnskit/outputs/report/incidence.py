"""Figure 1b: the cumulative incidence of remission with its competing events (Aalen–Johansen),
one panel per regimen (clinical-rules.md §9). The shared axis and band helpers are in ``charts``."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from srnskit.analysis.study import Study
from srnskit.outputs.report.charts import (
    LEGEND_SYMBOL_SIZE,
    PANEL_TICKS,
    WIDTH,
    band_rows,
    month_ticks,
    vega_spec,
)

__all__ = ["STATE_WORDS", "cumulative_incidence"]


STATE_WORDS = {
    "remission": "remission",
    "course_end": "course ended without remission",
    "kidney_failure": "kidney failure",
    "death": "death",
}


# Each state its own colour (ColorBrewer Dark2) and dash, so a state reads without its dash.
STATE_COLOURS = {
    "remission": "#1b9e77",
    "course_end": "#d95f02",
    "kidney_failure": "#7570b3",
    "death": "#333333",
}
STATE_DASHES = {
    "remission": [1, 0],
    "course_end": [6, 3],
    "kidney_failure": [2, 2],
    "death": [8, 2, 2, 2],
}


def cumulative_incidence(study: Study) -> dict[str, Any]:
    """Figure 1b: the Aalen–Johansen cumulative incidence from the course start, one panel per
    regimen: remission with its 95% band and each competing event that occurred, each state in
    its own colour and dash (``STATE_COLOURS``, ``STATE_DASHES``; one legend showing both, its
    symbols long enough for the dash); a regimen without a course is named in the subtitle."""
    cif = study.cumulative_incidence
    occurred = [
        state
        for state in STATE_WORDS
        if state in set(cif.state) and (cif[cif.state == state].estimate > 0).any()
    ]
    rows, bands = [], []
    for (group, state), g in cif[cif.state.isin(occurred)].groupby(["group", "state"]):
        curve: list[dict[str, Any]] = [{"time": 0.0, "estimate": 0.0, "low": None, "high": None}]
        curve += [
            {
                "time": float(r.time_months),
                "estimate": float(r.estimate),
                "low": float(r.ci_low) if pd.notna(r.ci_low) else None,
                "high": float(r.ci_high) if pd.notna(r.ci_high) else None,
            }
            for r in g.itertuples()
        ]
        rows += [{"group": group, "state": state, **point} for point in curve]
        if state == "remission":
            pieces = band_rows(
                [c["time"] for c in curve], [c["low"] for c in curve], [c["high"] for c in curve]
            )
            bands += [
                {"group": group, "state": state, **piece, "segment": f"{group} {piece['segment']}"}
                for piece in pieces
            ]
    data = pd.DataFrame(rows, columns=["group", "state", "time", "estimate", "low", "high"])
    data["event"] = data.state.map(STATE_WORDS)
    band_data = pd.DataFrame(bands, columns=["group", "state", "time", "low", "high", "segment"])
    band_data["event"] = band_data.state.map(STATE_WORDS)
    events = [STATE_WORDS[s] for s in occurred]
    legend = alt.Legend(
        orient="bottom",
        direction="vertical",
        title="event",
        symbolType="stroke",
        symbolStrokeWidth=2.5,
        symbolSize=LEGEND_SYMBOL_SIZE,
        symbolOpacity=1,
        labelLimit=320,
    )
    colour = alt.Color(
        "event:N",
        scale=alt.Scale(domain=events, range=[STATE_COLOURS[s] for s in occurred]),
        legend=legend,
    )
    dash = alt.StrokeDash(
        "event:N",
        scale=alt.Scale(domain=events, range=[STATE_DASHES[s] for s in occurred]),
        legend=legend,
    )
    horizon = float(cif.time_months.max()) if len(cif) else 0.0
    ticks = month_ticks(horizon, PANEL_TICKS)
    x = alt.X(
        "time:Q",
        title="months from course start",
        scale=alt.Scale(domain=[0, ticks[-1]], nice=False),
        axis=alt.Axis(values=ticks, format="d"),
    )
    y = alt.Y(
        "estimate:Q",
        title="cumulative incidence",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    panels = []
    drawn = set(data.group)
    for group in study.groups:
        if group not in drawn:
            continue
        lines = (
            alt.Chart(data[data.group == group])
            .mark_line(interpolate="step-after", strokeWidth=2)
            .encode(
                x=x,
                y=y,
                color=colour,
                strokeDash=dash,
                detail="state:N",
                tooltip=[
                    "event:N",
                    alt.Tooltip("time:Q", format=".1f"),
                    alt.Tooltip("estimate:Q", format=".1%"),
                ],
            )
        )
        band = (
            alt.Chart(band_data[band_data.group == group])
            .mark_area(interpolate="step-after", opacity=0.15)
            .encode(x=x, y=alt.Y("low:Q"), y2="high:Q", detail="segment:N", color=colour)
        )
        panels.append((lines + band).properties(width=WIDTH // 2 - 20, height=240, title=group))
    missing = [g for g in study.groups if g not in drawn]
    subtitle = ["remission before the course ended; band: 95% CI of remission"]
    subtitle += [f"{g}: no course" for g in missing]
    title = alt.Title(
        "Cumulative incidence of remission and competing events (Aalen–Johansen)",
        subtitle=subtitle,
        anchor="middle",
    )
    return vega_spec(alt.hconcat(*panels, spacing=20).properties(title=title))
