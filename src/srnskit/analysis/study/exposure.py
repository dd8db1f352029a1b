"""Cyclosporine exposure and the time to the second agent (clinical.md §9)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from srnskit.analysis.study.adherence import in_target
from srnskit.analysis.study.summary import Summary, TestLine, ttest_line
from srnskit.constants import DAYS_PER_MONTH
from srnskit.protocols import Protocol

__all__ = ["CYCLOSPORINE", "cyclosporine", "second_agent"]

CYCLOSPORINE = "cyclosporine"  # the article's CsA, the drug of this section


def _first_starts(rows: pd.DataFrame) -> pd.Series:
    """Each patient's first start date among ``rows`` (patient_id, start_date)."""
    return rows.groupby("patient_id").start_date.min()


def cyclosporine(
    included: pd.DataFrame,
    exposures: pd.DataFrame,
    troughs: pd.DataFrame,
    relapses: pd.DataFrame,
    adherence_rows: pd.DataFrame,
    protocol: Protocol,
) -> tuple[dict[str, Any], TestLine]:
    """The included patients' cyclosporine exposure, and the test of its delay by resistance type.

    Days from onset to the first cyclosporine start (overall, initial and late resistance); the
    initial dose per m² (each patient's first course with a known dose, from ``adherence_rows``);
    every trough measured while cyclosporine was active (the engine's ``troughs``) against the
    protocol's target (a bound summarised nowhere, counted in ``trough_bounds``, and placed
    in or out of target only when its bound decides it); relapses starting while cyclosporine
    was active, per exposed patient.
    """
    csa = exposures[exposures.drug == CYCLOSPORINE]
    first = _first_starts(csa)
    onset = included.set_index("patient_id").onset_date
    days = (first.reindex(onset.index) - onset).dt.days
    resistance = included.set_index("patient_id").resistance_type
    doses = adherence_rows[adherence_rows.drug == CYCLOSPORINE].sort_values(
        "start_date", kind="stable"
    )
    dose = doses.groupby("patient_id").dose_mg_m2.first().astype(float)
    on_csa_troughs = troughs[troughs.drug == CYCLOSPORINE]
    target = next(p.trough_ng_ml for p in protocol.phases_of(CYCLOSPORINE) if p.trough_ng_ml)
    # A bound (">2000") has no number for the summary but may still place the trough outside
    # the target; one the target leaves undecided is counted in neither (cohort-format.md §2).
    qualified = (
        on_csa_troughs.qualifier.fillna("") != ""
        if "qualifier" in on_csa_troughs
        else pd.Series(False, on_csa_troughs.index)
    )
    levels = on_csa_troughs.value[~qualified]
    placed = in_target(on_csa_troughs, target.min, target.max)
    on_csa = relapses.merge(csa[["patient_id", "start_date", "active_end"]], on="patient_id")
    on_csa = on_csa[
        (on_csa.start_date_x >= on_csa.start_date_y) & (on_csa.start_date_x <= on_csa.active_end)
    ]
    counts = on_csa.groupby("patient_id").start_date_x.nunique()
    relapse_counts = counts.reindex(first.index).fillna(0).astype(int)
    figures = {
        "exposed": len(first),
        "days_to_csa": Summary.of(days),
        "days_to_csa_initial": Summary.of(days[resistance == "initial"]),
        "days_to_csa_late": Summary.of(days[resistance == "late"]),
        "dose_mg_m2": Summary.of(dose),
        "dose_missing": int(len(first) - dose.notna().sum()),
        "trough": Summary.of(levels),
        "trough_in_target": int(placed.eq(True).sum()),
        "trough_count": int(placed.notna().sum()),
        "trough_bounds": int(qualified.sum()),
        "trough_target": (target.min, target.max),
        "relapses": Summary.of(relapse_counts),
    }
    test = ttest_line(
        "time from onset to cyclosporine, late vs initial resistance",
        days[resistance == "late"],
        days[resistance == "initial"],
        "welch",
        "Welch's t-test: the two groups' variances are not assumed equal",
        contrast="late minus initial steroid resistance",
        unit="days",
    )
    return figures, test


def second_agent(included: pd.DataFrame, courses: pd.DataFrame) -> Summary:
    """Months from onset to each included patient's first course with two or more agents."""
    multi = courses[(courses.n_agents >= 2) & courses.patient_id.isin(set(included.patient_id))]
    # in order of start (the order the mean is summed in)
    first = multi.sort_values("start_date").groupby("patient_id").head(1)
    onset = included.set_index("patient_id").onset_date.reindex(first.patient_id)
    days = (first.start_date.to_numpy() - onset.to_numpy()) / np.timedelta64(1, "D")
    return Summary.of(days / DAYS_PER_MONTH)
