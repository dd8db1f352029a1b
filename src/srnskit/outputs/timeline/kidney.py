"""The timeline's blood values: serum albumin (with the definition set's albumin levels) and
eGFR (the KDIGO CKD bands, the study's severe-CKD and kidney-failure levels, kidney
replacement therapy marked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from srnskit.clinical import CKD_STAGES
from srnskit.outputs.explain import STATE_WORDS
from srnskit.outputs.timeline.marks import (
    AFTER_KRT,
    INK,
    MUTED_TEXT,
    STATE_COLOURS,
    WIDTH,
    iso,
    layer,
    panel_title,
    references,
    tooltip_of,
    x_of,
)

if TYPE_CHECKING:
    from srnskit.definitions.model import DefinitionSet
    from srnskit.studies import StudyDesign

__all__ = ["CKD_BAND_COLOURS", "albumin_panel", "egfr_panel"]

# The CKD bands from G1 (lightest) to G5 (darkest), one grey each: behind the values, read by
# their labels, not by their shade.
CKD_BAND_COLOURS = ("#ffffff", "#f6f6f6", "#ededed", "#e3e3e3", "#d9d9d9", "#cfcfcf")
_RULES = ("nephrotic", "partial_remission", "complete_remission")
_KRT_WORDS = {"dialysis": "dialysis", "transplant": "kidney transplant"}


def albumin_panel(
    values: list[dict[str, Any]], definitions: DefinitionSet
) -> dict[str, Any] | None:
    """Serum albumin (g/L, its canonical unit) as points joined by a line, with the albumin
    level each of the set's rules asks for (``albumin_min_g_l``, or
    ``albumin_min_g_l_if_available``: said so) as a line in the state's colour. None when the
    patient has no albumin."""
    rows = sorted((r for r in values if r["analyte"] == "albumin"), key=lambda r: r["date"])
    if not rows:
        return None
    lines = []
    for name in _RULES:
        rule = getattr(definitions, name)
        level = getattr(rule, "albumin_min_g_l", None)
        optional = getattr(rule, "albumin_min_g_l_if_available", None)
        if level is not None or optional is not None:
            text = f"{STATE_WORDS[name]} ≥ {level if level is not None else optional:g}"
            lines.append(
                {
                    "value": level if level is not None else optional,
                    "text": text + ("" if level is not None else " if measured"),
                    "state": name,
                }
            )
    points = [
        {
            "start": iso(r["date"]),
            "value": r["value"],
            "tip": f"{r['date']}: albumin {r['qualifier'] or ''}{r['value']:g} g/L",
        }
        for r in rows
    ]
    top = max([r["value"] for r in rows] + [line["value"] for line in lines]) * 1.15
    y = _linear_y(top)
    return {
        "height": 80,
        "title": panel_title("serum albumin (g/L)", []),
        "layer": [
            *references(lines, y, STATE_COLOURS),
            layer(points, {"type": "line", "color": INK, "strokeWidth": 1}, x=x_of(), y=y),
            layer(
                points,
                {"type": "point", "filled": True, "size": 30, "color": INK},
                x=x_of(),
                y=y,
                tooltip=tooltip_of(),
            ),
        ],
    }


def _linear_y(top: float) -> dict[str, Any]:
    """A y encoding of ``value`` on a linear scale from 0 to ``top``."""
    return {
        "field": "value",
        "type": "quantitative",
        "scale": {"domain": [0, top], "nice": False},
        "title": None,
        "axis": {"tickCount": 4},
    }


def _bands(top: float) -> list[dict[str, Any]]:
    """The KDIGO GFR categories (``clinical.CKD_STAGES``) below ``top`` as horizontal bands,
    each named at the left edge of the plot."""
    bands = []
    upper = top
    for (stage, low, meaning), colour in zip(CKD_STAGES, CKD_BAND_COLOURS, strict=True):
        if low < top:
            bands.append(
                {"low": low, "high": upper, "mid": (low + upper) / 2, "stage": stage,
                 "colour": colour, "tip": f"{stage}: eGFR ≥ {low:g}, {meaning}"}
            )  # fmt: skip
        upper = min(upper, low)
    return bands


def egfr_panel(
    rows: list[dict[str, Any]],
    study: StudyDesign,
    outcome: dict[str, Any] | None = None,
    *,
    width: int = WIDTH,
) -> dict[str, Any]:
    """eGFR points (native kidneys joined by a line; after kidney replacement therapy in
    another colour and shape) over the KDIGO CKD bands, with the study's severe-CKD and
    kidney-failure levels and, when the engine derived one (``outcome``'s ``krt``,
    ``krt_date``), the latest kidney replacement therapy as a rule, named in at most a third
    of the time axis' ``width`` (px)."""
    native, after = "native kidneys", "after kidney replacement therapy"
    points = [
        {
            "start": iso(r["date"]),
            "value": r["egfr"],
            "kidneys": native if r["native"] else after,
            "tip": f"{r['date']}: eGFR {r['egfr']:.1f} mL/min/1.73 m² (creatinine "
            f"{r['creatinine_umol_l']:g} µmol/L, height {r['height_cm']:g} cm)"
            + ("" if r["native"] else ", after kidney replacement therapy"),
        }
        for r in rows
    ]
    kidney = study.kidney
    levels = [
        {"value": kidney.severe_below, "text": f"severe CKD < {kidney.severe_below:g}"},
        {"value": kidney.failure_below, "text": f"kidney failure < {kidney.failure_below:g}"},
    ]
    top = max([r["egfr"] for r in rows] + [kidney.severe_below]) * 1.15
    y = _linear_y(top)
    kinds = [k for k in (native, after) if any(p["kidneys"] == k for p in points)]
    # Colour and shape share one legend, which needs both to name it alike (a shape legend
    # left out drops the shared one too).
    legend = {"orient": "top", "direction": "horizontal", "labelLimit": 300}
    colour = {
        "field": "kidneys",
        "type": "nominal",
        "title": None,
        "legend": legend,
        "scale": {"domain": kinds, "range": [INK if k == native else AFTER_KRT for k in kinds]},
    }
    shape = {
        "field": "kidneys",
        "type": "nominal",
        "title": None,
        "legend": legend,
        "scale": {"domain": kinds, "range": ["circle" if k == native else "square" for k in kinds]},
    }
    bands = _bands(top)
    band_y = {**y, "field": "low"}
    layers = [
        layer(
            bands,
            {"type": "rect"},
            y=band_y,
            y2={"field": "high"},
            fill={"field": "colour", "type": "nominal", "scale": None, "legend": None},
            tooltip=tooltip_of(),
        ),
        layer(
            bands,
            {"type": "text", "align": "left", "dx": 3, "fontSize": 9, "color": MUTED_TEXT, "x": 0},
            y={**y, "field": "mid"},
            text={"field": "stage"},
        ),
        *references(levels, y, None),
    ]
    if outcome and outcome.get("krt") and outcome.get("krt_date"):
        words = _KRT_WORDS.get(outcome["krt"], outcome["krt"])
        krt = [
            {"start": iso(outcome["krt_date"]), "text": words,
             "tip": f"{outcome['krt_date']}: {words} (the latest kidney replacement therapy)"}
        ]  # fmt: skip
        layers += [
            layer(krt, {"type": "rule", "color": AFTER_KRT, "strokeWidth": 2}, x=x_of(),
                  tooltip=tooltip_of()),
            layer(krt, {"type": "text", "align": "right", "dx": -4, "y": 8, "fontSize": 10,
                        "color": INK, "limit": width // 3}, x=x_of(), text={"field": "text"}),
        ]  # fmt: skip
    layers += [
        layer(
            [p for p in points if p["kidneys"] == native],
            {"type": "line", "color": INK, "strokeWidth": 1},
            x=x_of(),
            y=y,
        ),
        layer(
            points,
            {"type": "point", "filled": True, "size": 30, "opacity": 1},
            x=x_of(),
            y=y,
            color=colour,
            shape=shape,
            tooltip=tooltip_of(),
        ),
    ]
    return {"height": 110, "title": panel_title("eGFR (mL/min/1.73 m²)", []), "layer": layers}
