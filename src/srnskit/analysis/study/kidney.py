"""Kidney outcomes: severe CKD, kidney failure, first versus last eGFR (clinical.md §6, §9)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from srnskit.analysis.study.summary import Summary, TestLine, ttest_line
from srnskit.constants import DAYS_PER_MONTH, DAYS_PER_YEAR

__all__ = ["kidney"]


def kidney(
    included: pd.DataFrame, egfr: pd.DataFrame
) -> tuple[dict[str, Any], TestLine, pd.DataFrame, pd.DataFrame]:
    """The kidney outcomes of the ``included`` patients (with their outcomes and onset date).

    ``egfr`` is the engine's eGFR series (one row per creatinine day with an eGFR). Returns the
    figures (counts, months from onset to severe CKD, the final creatinine — that of each
    patient's last eGFR day — first and last eGFR, the last CKD stages), the paired t-test of
    first against last eGFR, the pairs (``patient_id, egfr_first, egfr_last``) and the
    trajectories (``patient_id, years, egfr``; years since onset = days / ``DAYS_PER_YEAR``).
    """
    onset = included[["patient_id", "onset_date"]]
    series = egfr.merge(onset, on="patient_id")
    series["years"] = (series.date - series.onset_date).dt.days / DAYS_PER_YEAR
    last = series.sort_values("date", kind="stable").groupby("patient_id").creatinine_umol_l.last()
    severe = included[included.severe_ckd_date.notna()]
    months_severe = (
        pd.to_datetime(severe.severe_ckd_date) - pd.to_datetime(severe.onset_date)
    ).dt.days / DAYS_PER_MONTH
    pairs = included[["patient_id", "egfr_first", "egfr_last"]].dropna()
    figures = {
        "patients": len(included),
        "severe_ckd": len(severe),
        "kidney_failure": int(included.kidney_failure_date.notna().sum()),
        "months_to_severe_ckd": Summary.of(months_severe),
        "final_creatinine": Summary.of(last),
        "egfr_first": Summary.of(pairs.egfr_first),
        "egfr_last": Summary.of(pairs.egfr_last),
        "stages": included.ckd_stage_last.value_counts().to_dict(),
    }
    paired = ttest_line(
        "first vs last eGFR (Figure 2)",
        pairs.egfr_first,
        pairs.egfr_last,
        "paired",
        "paired t-test: two measurements of the same children",
    )
    trajectories = series[["patient_id", "years", "egfr"]].sort_values(["patient_id", "years"])
    return figures, paired, pairs.reset_index(drop=True), trajectories.reset_index(drop=True)
