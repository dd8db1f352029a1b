"""Protocol adherence, per treatment course (clinical.md §7), from the engine's analysis tables.

For each course (treatment row) of an immunosuppressant that the protocol doses daily per m²:
the starting dose per m² (the recorded mg/m²/day, or mg/day ÷ BSA, or mg/kg/day × weight ÷ BSA,
the BSA by the protocol's formula from the height and weight the engine found for the start:
the one weight rule, clinical.md §1, and the study's height window) against the protocol's
range; the troughs of its drug measured while it was active against the target; and, for a
course active until the assessment day, whether a proteinuria value was recorded within
±window days of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from srnskit.protocols import Phase, Protocol
from srnskit.schema import REGIMEN_AGENTS

__all__ = ["ADHERENCE_COLUMNS", "adherence", "adherence_summary", "in_target"]

ADHERENCE_COLUMNS = [
    "patient_id",
    "drug",
    "start_date",
    "dose_mg_m2",
    "dose_min",
    "dose_max",
    "dose_in_range",
    "troughs",
    "troughs_in_target",
    "assessment_done",
]
DOSE_DECIMALS = 1  # the dose per m² is compared with the range as printed, to 0.1 mg/m²


def _dosed_phases(protocol: Protocol) -> dict[str, Phase]:
    """Each immunosuppressant the protocol doses daily, with its first such phase."""
    phases: dict[str, Phase] = {}
    for phase in protocol.phase:
        if phase.per == "day" and phase.drug in REGIMEN_AGENTS:
            phases.setdefault(phase.drug, phase)
    return phases


def _per_m2(rows: pd.DataFrame, protocol: Protocol) -> pd.Series:
    """The starting dose in mg/m²/day of each row (NaN when its unit or body size is missing)."""
    known = rows.height_cm.notna() & rows.weight_kg.notna()
    bsa = pd.Series(np.nan, index=rows.index)
    bsa[known] = [
        protocol.bsa_m2(height_cm=h, weight_kg=w)
        for h, w in zip(rows.height_cm[known], rows.weight_kg[known], strict=True)
    ]
    dose = rows.dose.astype(float)
    per_m2 = pd.Series(np.nan, index=rows.index)
    unit = rows.dose_unit
    per_m2[unit == "mg/m2/day"] = dose
    per_m2[unit == "mg/day"] = dose / bsa
    per_m2[unit == "mg/kg/day"] = dose * rows.weight_kg / bsa
    return per_m2.where(unit.isin(["mg/m2/day", "mg/day", "mg/kg/day"]))


def in_target(troughs: pd.DataFrame, low: pd.Series | float, high: pd.Series | float) -> pd.Series:
    """Per trough (``value``, and ``qualifier`` when the table has it): True when within
    [low, high], False when not, None when a bound leaves it undecided (cohort-format.md §2: a
    ``>2000`` trough is above a 100–300 target, a ``<150`` one may be in it or below). A bound
    can only place a trough outside the range: ``<b`` below it when b < low, ``>b`` above it
    when b > high."""
    value = troughs.value.astype(float)
    qualifier = troughs.qualifier if "qualifier" in troughs else pd.Series(None, troughs.index)
    exact = qualifier.isna() | (qualifier == "")
    inside = (value >= low) & (value <= high)
    below = (qualifier == "<") & (value < low)
    above = (qualifier == ">") & (value > high)
    decided = pd.Series(None, index=troughs.index, dtype=object)
    decided[exact] = inside[exact]
    decided[below | above] = False
    return decided


def _troughs(rows: pd.DataFrame, troughs: pd.DataFrame, phases: dict[str, Phase]) -> pd.DataFrame:
    """Per row: the troughs of its drug between its start and active end whose place in the
    target is known (a bound that leaves it undecided is left out), and those in target."""
    columns = [c for c in ("patient_id", "drug", "date", "value", "qualifier") if c in troughs]
    on = rows.reset_index()[["index", "patient_id", "drug", "start_date", "active_end"]].merge(
        troughs[columns], on=["patient_id", "drug"]
    )
    on = on[(on.date >= on.start_date) & (on.date <= on.active_end)]
    targets = {drug: phase.trough_ng_ml for drug, phase in phases.items()}
    low = on.drug.map({d: t.min for d, t in targets.items() if t is not None})
    high = on.drug.map({d: t.max for d, t in targets.items() if t is not None})
    decided = in_target(on, low, high)
    on = on.assign(in_target=decided.eq(True))[decided.notna()]
    counted = on.groupby("index").agg(troughs=("value", "size"), in_target=("in_target", "sum"))
    return counted.reindex(rows.index, fill_value=0)


def _assessed(rows: pd.DataFrame, dates: pd.DataFrame, protocol: Protocol) -> pd.Series:
    """Per row: is there a proteinuria date within ±window days of start + response_day?"""
    assessment = protocol.assessment
    due = rows.start_date + pd.Timedelta(days=assessment.response_day)
    lo = due - pd.Timedelta(days=assessment.window_days)
    hi = due + pd.Timedelta(days=assessment.window_days)
    probe = pd.DataFrame({"row": rows.index, "patient_id": rows.patient_id, "lo": lo, "hi": hi})
    probe = probe.sort_values("lo", kind="stable")
    found = pd.merge_asof(
        probe,
        dates[["patient_id", "date"]].sort_values("date", kind="stable"),
        left_on="lo",
        right_on="date",
        by="patient_id",
        direction="forward",
    )
    return pd.Series((found.date <= found.hi).to_numpy(), index=found.row).reindex(rows.index)


def adherence(
    exposures: pd.DataFrame,
    troughs: pd.DataFrame,
    proteinuria_dates: pd.DataFrame,
    protocol: Protocol,
) -> pd.DataFrame:
    """One row per course (``exposures`` row) of a drug the protocol doses daily per m².

    ``exposures``, ``troughs`` and ``proteinuria_dates`` are the engine's analysis tables (dates
    as datetime64). Columns ``ADHERENCE_COLUMNS``: the dose per m² rounded to 0.1 (None when
    unknown), the protocol's range and whether the dose lies in it (None when unknown), the
    number of troughs and of troughs in target, and whether the assessment was done (None when
    the course was not active until ``assessment.response_day``). Ordered by patient and start.
    """
    phases = _dosed_phases(protocol)
    rows = exposures[exposures.drug.isin(list(phases))]
    rows = rows.sort_values(["patient_id", "start_date"], kind="stable").reset_index(drop=True)
    if rows.empty:
        return pd.DataFrame(columns=ADHERENCE_COLUMNS)
    per_m2 = _per_m2(rows, protocol)
    counted = _troughs(rows, troughs, phases)
    assessed = _assessed(rows, proteinuria_dates, protocol)
    lasted = (rows.active_end - rows.start_date).dt.days >= protocol.assessment.response_day
    dose = pd.Series(
        [None if np.isnan(v) else round(float(v), DOSE_DECIMALS) for v in per_m2.to_numpy()],
        index=rows.index,
        dtype=object,
    )
    low = rows.drug.map({d: p.dose_mg_m2.min for d, p in phases.items()})
    high = rows.drug.map({d: p.dose_mg_m2.max for d, p in phases.items()})
    known = dose.notna()
    in_range = pd.Series(None, index=rows.index, dtype=object)
    in_range[known] = (low[known] <= dose[known].astype(float)) & (
        dose[known].astype(float) <= high[known]
    )
    done = pd.Series(None, index=rows.index, dtype=object)
    done[lasted] = assessed[lasted].astype(bool)
    out = pd.DataFrame(
        {
            "patient_id": rows.patient_id,
            "drug": rows.drug,
            "start_date": rows.start_date,
            "dose_mg_m2": dose,
            "dose_min": low,
            "dose_max": high,
            "dose_in_range": in_range,
            "troughs": counted.troughs.astype(int),
            "troughs_in_target": counted.in_target.astype(int),
            "assessment_done": done,
        }
    )
    return out[ADHERENCE_COLUMNS]


def adherence_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per drug: courses, doses known and in range, troughs and in target, assessments due and
    done (the report's adherence table)."""
    out = []
    for drug, g in rows.groupby("drug"):
        dose_known = g.dose_in_range.notna()
        assessed = g.assessment_done.notna()
        out.append(
            {
                "drug": drug,
                "courses": len(g),
                "dose_known": int(dose_known.sum()),
                "dose_in_range": int(g.dose_in_range[dose_known].astype(bool).sum()),
                "troughs": int(g.troughs.sum()),
                "troughs_in_target": int(g.troughs_in_target.sum()),
                "assessment_due": int(assessed.sum()),
                "assessment_done": int(g.assessment_done[assessed].astype(bool).sum()),
            }
        )
    return pd.DataFrame(out)
