"""Table I: the included children's characteristics at diagnosis (clinical.md §9)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from srnskit.analysis.study.summary import Summary, pct
from srnskit.constants import UPCR_MG_MMOL_PER_MG_MG
from srnskit.schema import COHORT_TABLES

__all__ = [
    "HISTOLOGY_ROWS",
    "SKEWNESS_LIMIT",
    "SYMMETRIC_MIN_N",
    "SummaryChoice",
    "SummaryKind",
    "summary_kind",
    "table1",
]

SummaryKind = Literal["mean_sd", "median_iqr"]
SummaryChoice = Literal["auto", "mean_sd", "median_iqr"]
# "Roughly symmetric" (mean ± SD) when the sample skewness G1 is within ±1 — Bulmer's rule of
# thumb (Principles of Statistics, 1979: beyond ±1 a distribution is highly skewed) — and there
# are at least 10 values to judge it by; otherwise median [IQR] (docs/decisions.md).
SKEWNESS_LIMIT = 1.0
SYMMETRIC_MIN_N = 10

# Histology rows always shown (the article's Table I); other kinds only when someone has them.
HISTOLOGY_ROWS = ("MCD", "FSGS", "DMP")
HISTOLOGY_KINDS = COHORT_TABLES["patients"].column("histology").allowed  # the format's kinds


def summary_kind(values: Any, choice: SummaryChoice = "auto") -> SummaryKind:
    """How to summarise ``values`` in Table 1: ``choice`` unless it is "auto"; then "mean_sd"
    when there are at least ``SYMMETRIC_MIN_N`` values whose sample skewness (G1, the adjusted
    Fisher–Pearson coefficient, as pandas' ``skew``) lies within ±``SKEWNESS_LIMIT``,
    otherwise "median_iqr"."""
    if choice != "auto":
        return choice
    x = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna()
    if len(x) < SYMMETRIC_MIN_N:
        return "median_iqr"
    skew = float(x.skew())
    symmetric = (np.isfinite(skew) and abs(skew) <= SKEWNESS_LIMIT) or x.nunique() == 1
    return "mean_sd" if symmetric else "median_iqr"


def table1(
    included: pd.DataFrame, presentation: pd.DataFrame, summary: SummaryChoice = "auto"
) -> pd.DataFrame:
    """One row per characteristic of the ``included`` patients (patients with their outcomes).

    Counts: ``characteristic, kind="count", n, of, pct``; continuous variables:
    ``characteristic, kind="continuous", unit, summary`` (a ``Summary``), ``summary_kind``
    ("mean_sd" or "median_iqr": ``summary_kind(values, summary)``) and ``of`` (the children
    described; ``summary.n`` of them have a value). The values at
    diagnosis come from ``presentation`` (the engine's first values in the study's
    ``[at_diagnosis]`` window); a UPCR in mg/mmol is shown in mg/mg, ÷ 113.12
    (``constants.UPCR_MG_MMOL_PER_MG_MG``, for display only).
    """
    n = len(included)
    rows: list[dict[str, Any]] = []

    def count(label: str, k: int, d: int = n) -> None:
        rows.append({"characteristic": label, "kind": "count", "n": k, "of": d, "pct": pct(k, d)})

    def cont(label: str, values: Any, unit: str) -> None:
        rows.append(
            {
                "characteristic": label,
                "kind": "continuous",
                "of": n,
                "unit": unit,
                "summary": Summary.of(values),
                "summary_kind": summary_kind(values, summary),
            }
        )

    count("Girls", int((included.sex == "F").sum()))
    count("Boys", int((included.sex == "M").sum()))
    count("Family history of nephrotic syndrome", int(included.family_history.eq(True).sum()))
    cont("Age at onset", included.onset_age_years, "years")
    resistant = int(included.resistance_type.notna().sum())
    count(
        "Initial steroid resistance", int((included.resistance_type == "initial").sum()), resistant
    )
    count("Late steroid resistance", int((included.resistance_type == "late").sum()), resistant)
    biopsied = included.histology.notna() & (included.histology != "")
    count("Kidney biopsy", int(biopsied.sum()))
    for kind in HISTOLOGY_KINDS:
        k = int((included.histology == kind).sum())
        if k or kind in HISTOLOGY_ROWS:
            count(f"  histology: {kind}", k)
    tested = int(included.genetic_testing.eq(True).sum())
    count("Genetic testing", tested)
    variants = included.genetic_variant[included.genetic_variant.fillna("") != ""]
    for gene, k in variants.value_counts().sort_index().items():
        count(f"  variant: {gene}", int(k), tested)
    first = presentation[presentation.patient_id.isin(set(included.patient_id))]
    upcr = first[first.analyte == "upcr"]
    mg_mg = np.where(upcr.unit == "mg/mmol", upcr.value / UPCR_MG_MMOL_PER_MG_MG, upcr.value)
    cont("UPCR at diagnosis", mg_mg, "mg/mg")
    cont("24-hour proteinuria at diagnosis", first.value[first.analyte == "uprot_24h"], "g/24h")
    cont("Serum albumin at diagnosis", first.value[first.analyte == "albumin"], "g/L")
    cont("Serum creatinine at diagnosis", first.value[first.analyte == "creatinine"], "µmol/L")
    cont("First eGFR", included.egfr_first, "mL/min/1.73 m²")
    columns = ["characteristic", "kind", "n", "of", "pct", "unit", "summary", "summary_kind"]
    return pd.DataFrame(rows, columns=columns)
