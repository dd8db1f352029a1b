"""Unit conversions for the clinical quantities srnskit uses (cohort-format.md §2).

Conversions are for computing and display; UPCR thresholds are never converted between unit
families (guidelines state both, and they are not exact conversions of each other).
"""

from __future__ import annotations

from srnskit.clinical.numeric import Num, missing_in_missing_out
from srnskit.constants import CREATININE_UMOL_L_PER_MG_DL, UPCR_MG_MMOL_PER_MG_MG

__all__ = [
    "CREATININE_UMOL_L_PER_MG_DL",
    "UPCR_MG_MMOL_PER_MG_MG",
    "creatinine_mg_dl_from_umol_l",
    "creatinine_umol_l_from_mg_dl",
    "upcr_mg_mg_from_mg_mmol",
    "upcr_mg_mmol_from_mg_mg",
]


@missing_in_missing_out
def creatinine_mg_dl_from_umol_l(*, creatinine_umol_l: Num) -> Num:
    """Serum creatinine in mg/dL from µmol/L."""
    return creatinine_umol_l / CREATININE_UMOL_L_PER_MG_DL


@missing_in_missing_out
def creatinine_umol_l_from_mg_dl(*, creatinine_mg_dl: Num) -> Num:
    """Serum creatinine in µmol/L from mg/dL."""
    return creatinine_mg_dl * CREATININE_UMOL_L_PER_MG_DL


@missing_in_missing_out
def upcr_mg_mmol_from_mg_mg(*, upcr_mg_mg: Num) -> Num:
    """UPCR in mg/mmol from mg/mg, for display only (never to apply a threshold)."""
    return upcr_mg_mg * UPCR_MG_MMOL_PER_MG_MG


@missing_in_missing_out
def upcr_mg_mg_from_mg_mmol(*, upcr_mg_mmol: Num) -> Num:
    """UPCR in mg/mg from mg/mmol, for display only (never to apply a threshold)."""
    return upcr_mg_mmol / UPCR_MG_MMOL_PER_MG_MG
