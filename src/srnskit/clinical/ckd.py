"""CKD stage (KDIGO GFR category) from eGFR in mL/min/1.73 m² (clinical.md §6)."""

from __future__ import annotations

from srnskit.clinical.numeric import Num, is_missing, missing_in_missing_out, piecewise

__all__ = ["CKD_STAGES", "SEVERE_CKD_EGFR_BELOW", "ckd_stage"]

# KDIGO 2012 CKD guideline, GFR categories: lower bound (inclusive) and meaning.
CKD_STAGES: tuple[tuple[str, float, str], ...] = (
    ("G1", 90.0, "normal or high"),
    ("G2", 60.0, "mildly decreased"),
    ("G3a", 45.0, "mildly to moderately decreased"),
    ("G3b", 30.0, "moderately to severely decreased"),
    ("G4", 15.0, "severely decreased"),
    ("G5", 0.0, "kidney failure"),
)
# The source article's "severe renal disease": stage 3, 4 or 5, i.e. eGFR < 60 [S].
SEVERE_CKD_EGFR_BELOW = 60.0


@missing_in_missing_out
def ckd_stage(*, egfr_ml_min_1_73m2: Num) -> Num:
    """The KDIGO GFR category (``G1`` … ``G5``) of an eGFR; works on floats, arrays, columns."""
    egfr = egfr_ml_min_1_73m2
    branches: list[tuple[Num, str | None]] = [(is_missing(egfr), None)]
    branches += [(egfr >= low, stage) for stage, low, _ in CKD_STAGES[:-1]]
    return piecewise(branches, CKD_STAGES[-1][0])
