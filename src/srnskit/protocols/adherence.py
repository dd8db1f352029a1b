"""Protocol adherence, per treatment course (clinical.md §7).

For each course of a drug that the protocol doses per m² (each treatment row): the starting
dose per m² of body surface (the recorded mg/m²/day, or mg/day ÷ BSA from the nearest height
and weight within 90 days) against the protocol's range; the trough levels measured while it
was active against the target; and for courses that lasted to the assessment day, whether a
proteinuria value was recorded within ±window days of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from srnskit.cohort.load import Cohort
from srnskit.engine.rules.proteinuria import HEIGHT_WITHIN_DAYS
from srnskit.protocols.model import Protocol

__all__ = ["ADHERENCE_COLUMNS", "adherence"]

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
DOSED_PER_M2 = ("cyclosporine", "mmf", "tacrolimus")
PROTEINURIA = ("upcr", "uprot_24h", "dipstick")
BODY_SIZE_WITHIN_DAYS = HEIGHT_WITHIN_DAYS  # as height is matched for eGFR (clinical.md §6)


def adherence(cohort: Cohort, treatments: pd.DataFrame, protocol: Protocol) -> pd.DataFrame:
    """One row per daily-dosed protocol course of ``treatments`` (with ``active_end``)."""
    daily = [p for p in protocol.phase if p.per == "day" and p.drug in DOSED_PER_M2]
    drugs = sorted({p.drug for p in daily})
    rows = treatments[treatments.drug.isin(drugs)].copy()
    if rows.empty:
        return pd.DataFrame(columns=ADHERENCE_COLUMNS)
    assessment = protocol.assessment
    facts = cohort.query(
        f"""SELECT r.patient_id, r.drug, r.start_date, r.active_end, r.dose, r.dose_unit,
              (SELECT value FROM measurements m WHERE m.patient_id = r.patient_id
                 AND m.analyte = 'height' AND abs(m.date - r.start_date) <= {BODY_SIZE_WITHIN_DAYS}
               ORDER BY abs(m.date - r.start_date), m.date LIMIT 1) AS height_cm,
              (SELECT value FROM measurements m WHERE m.patient_id = r.patient_id
                 AND m.analyte = 'weight' AND abs(m.date - r.start_date) <= {BODY_SIZE_WITHIN_DAYS}
               ORDER BY abs(m.date - r.start_date), m.date LIMIT 1) AS weight_kg,
              (SELECT list(value) FROM measurements m WHERE m.patient_id = r.patient_id
                 AND m.analyte = 'csa_trough' AND r.drug = 'cyclosporine'
                 AND m.date BETWEEN r.start_date AND r.active_end) AS trough_values,
              (SELECT count(*) > 0 FROM measurements m WHERE m.patient_id = r.patient_id
                 AND m.analyte IN {PROTEINURIA}
                 AND abs(m.date - (r.start_date + {assessment.response_day}))
                     <= {assessment.window_days}) AS assessed
            FROM rows r ORDER BY r.patient_id, r.start_date""",
        rows=rows[["patient_id", "drug", "start_date", "active_end", "dose", "dose_unit"]],
    )
    out: list[dict[str, Any]] = []
    for f in facts.itertuples():
        phase = next(p for p in daily if p.drug == f.drug)
        bsa = (
            protocol.bsa_m2(height_cm=f.height_cm, weight_kg=f.weight_kg)
            if pd.notna(f.height_cm) and pd.notna(f.weight_kg)
            else np.nan
        )
        dose = float(f.dose) if pd.notna(f.dose) else np.nan
        per_m2 = {
            "mg/m2/day": dose,
            "mg/day": dose / bsa,
            "mg/kg/day": dose * float(f.weight_kg) / bsa if pd.notna(f.weight_kg) else np.nan,
        }.get(f.dose_unit, np.nan)
        troughs = list(f.trough_values) if isinstance(f.trough_values, list | np.ndarray) else []
        target = phase.trough_ng_ml
        lasted = (
            pd.Timestamp(f.active_end) - pd.Timestamp(f.start_date)
        ).days >= assessment.response_day
        out.append(
            {
                "patient_id": f.patient_id,
                "drug": f.drug,
                "start_date": f.start_date,
                "dose_mg_m2": None if np.isnan(per_m2) else round(float(per_m2), 1),
                "dose_min": phase.dose_mg_m2.min,
                "dose_max": phase.dose_mg_m2.max,
                "dose_in_range": None
                if np.isnan(per_m2)
                else bool(phase.dose_mg_m2.min <= round(per_m2, 1) <= phase.dose_mg_m2.max),
                "troughs": len(troughs),
                "troughs_in_target": sum(target.min <= v <= target.max for v in troughs)
                if target
                else 0,
                "assessment_done": bool(f.assessed) if lasted else None,
            }
        )
    return pd.DataFrame(out, columns=ADHERENCE_COLUMNS)
