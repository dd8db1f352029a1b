"""Clinical formulas: pure, vectorised (floats, NumPy arrays, Ibis columns), units in names."""

from srnskit.clinical.bsa import (
    BSA_FORMULAS,
    bsa_dubois,
    bsa_gehan_george,
    bsa_haycock,
    bsa_mosteller,
)
from srnskit.clinical.ckd import CKD_STAGES, ckd_stage
from srnskit.clinical.dosing import dose_mg_from_bsa
from srnskit.clinical.egfr import (
    EGFR_EQUATIONS,
    egfr_bedside_schwartz,
    egfr_ckid_u25_combined,
    egfr_ckid_u25_creatinine,
    egfr_ckid_u25_cystatin_c,
    egfr_schwartz_1976,
    egfr_validity_warnings,
)
from srnskit.clinical.units import (
    creatinine_mg_dl_from_umol_l,
    creatinine_umol_l_from_mg_dl,
    upcr_mg_mg_from_mg_mmol,
    upcr_mg_mmol_from_mg_mg,
)

__all__ = [
    "BSA_FORMULAS",
    "CKD_STAGES",
    "EGFR_EQUATIONS",
    "bsa_dubois",
    "bsa_gehan_george",
    "bsa_haycock",
    "bsa_mosteller",
    "ckd_stage",
    "creatinine_mg_dl_from_umol_l",
    "creatinine_umol_l_from_mg_dl",
    "dose_mg_from_bsa",
    "egfr_bedside_schwartz",
    "egfr_ckid_u25_combined",
    "egfr_ckid_u25_creatinine",
    "egfr_ckid_u25_cystatin_c",
    "egfr_schwartz_1976",
    "egfr_validity_warnings",
    "upcr_mg_mg_from_mg_mmol",
    "upcr_mg_mmol_from_mg_mg",
]
