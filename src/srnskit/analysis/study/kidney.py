"""Kidney outcomes: severe CKD, kidney failure, first versus last eGFR (clinical.md §6, §9).

After kidney replacement therapy (KRT) a creatinine is the dialysis's or the graft's, not the
native kidneys': the trajectories, the final creatinine and the first-versus-last comparison
read native values only (the engine's ``egfr.native`` and ``creatinine.native``; ``egfr_first``
and ``egfr_last`` of ``patient_outcomes`` are native already), so a child with KRT keeps their
native values and only a child without any native eGFR is left out, counted in the note. The
final creatinine is the last before KRT of all creatinine values, a height in reach or not.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from srnskit.analysis.study.summary import Summary, TestLine, ttest_line
from srnskit.constants import DAYS_PER_MONTH, DAYS_PER_YEAR

__all__ = ["EGFR_UNIT", "kidney"]

EGFR_UNIT = "mL/min/1.73 m²"


def _children(n: int) -> str:
    return f"{n} child" if n == 1 else f"{n} children"


def kidney(
    included: pd.DataFrame, egfr: pd.DataFrame, creatinine: pd.DataFrame | None = None
) -> tuple[dict[str, Any], TestLine, pd.DataFrame, pd.DataFrame, str]:
    """The kidney outcomes of the ``included`` patients (with their outcomes and onset date).

    ``egfr`` is the engine's eGFR series (one row per creatinine day with an eGFR, ``native``
    when before the first KRT event); ``creatinine`` the engine's creatinine days (every
    creatinine day, with an eGFR or not, ``native`` likewise; None: the eGFR days alone).
    Returns the figures (counts, months from onset to severe CKD, the final creatinine — each
    patient's last creatinine before KRT, from all creatinine values (clinical.md §6) — first
    and last eGFR, the last CKD stages, KRT counts), the paired t-test of last minus first eGFR
    (mL/min/1.73 m²), the pairs (``patient_id, egfr_first, egfr_last``), the native
    trajectories (``patient_id, years, egfr``; years since onset = days / ``DAYS_PER_YEAR``)
    and the section's note (its n and who was left out, and why).
    """
    native = egfr[egfr.native.fillna(True).astype(bool)] if "native" in egfr else egfr
    onset = included[["patient_id", "onset_date"]]
    series = native.merge(onset, on="patient_id")
    days = (pd.to_datetime(series.date) - pd.to_datetime(series.onset_date)).dt.days
    series = series.assign(years=days.astype(float) / DAYS_PER_YEAR)
    days_with_creatinine = (
        native if creatinine is None else creatinine[creatinine.native.fillna(True).astype(bool)]
    )
    days_with_creatinine = days_with_creatinine[
        days_with_creatinine.patient_id.isin(included.patient_id)
    ]
    ordered = days_with_creatinine.sort_values("date", kind="stable")
    last = ordered.groupby("patient_id").creatinine_umol_l.last()
    severe = included[included.severe_ckd_date.notna()]
    months_severe = (
        pd.to_datetime(severe.severe_ckd_date) - pd.to_datetime(severe.onset_date)
    ).dt.days / DAYS_PER_MONTH
    pairs = included[["patient_id", "egfr_first", "egfr_last"]].dropna()
    krt = included.krt.fillna("") if "krt" in included else pd.Series("", included.index)
    figures = {
        "patients": len(included),
        "severe_ckd": len(severe),
        "kidney_failure": int(included.kidney_failure_date.notna().sum()),
        "months_to_severe_ckd": Summary.of(months_severe),
        "final_creatinine": Summary.of(last),
        "egfr_first": Summary.of(pairs.egfr_first),
        "egfr_last": Summary.of(pairs.egfr_last),
        "stages": included.ckd_stage_last.value_counts().to_dict(),
        "krt": int((krt != "").sum()),
        "krt_dialysis": int((krt == "dialysis").sum()),
        "krt_transplant": int((krt == "transplant").sum()),
        "egfr_pairs": len(pairs),
        "egfr_left_out": len(included) - len(pairs),
    }
    left_out = len(included) - len(pairs)
    with_krt = int(pairs.patient_id.isin(included.patient_id[krt != ""]).sum())
    note: str = (
        f"First versus last eGFR: {_children(len(pairs))} of {len(included)} included; "
        f"{_children(left_out)} left out for having no native eGFR (no creatinine with a "
        "height in reach before any kidney replacement therapy)."
    )
    if with_krt:
        note += f" {_children(with_krt)} with kidney replacement therapy kept their native values."
    paired = ttest_line(
        "first vs last eGFR (Figure 2)",
        pairs.egfr_last,
        pairs.egfr_first,
        "paired",
        f"paired t-test: two measurements of the same children (n = {len(pairs)}, "
        f"{left_out} left out without a native eGFR)",
        contrast="last minus first eGFR",
        unit=EGFR_UNIT,
    )
    trajectories = series[["patient_id", "years", "egfr"]].sort_values(["patient_id", "years"])
    return figures, paired, pairs.reset_index(drop=True), trajectories.reset_index(drop=True), note
