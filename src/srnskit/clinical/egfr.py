"""Estimated GFR in mL/min/1.73 m² for children (clinical.md §6).

Each equation is one function, named after it, with its source; the age range where it was
validated is stated here and checked by ``egfr_validity_warnings`` (the formulas compute
outside it; callers warn). Sex is ``"F"`` or ``"M"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from srnskit.clinical.numeric import Num, missing_in_missing_out, piecewise
from srnskit.clinical.units import CREATININE_UMOL_L_PER_MG_DL
from srnskit.constants import CM_PER_M

__all__ = [
    "EGFR_EQUATIONS",
    "Equation",
    "egfr_bedside_schwartz",
    "egfr_ckid_u25_combined",
    "egfr_ckid_u25_creatinine",
    "egfr_ckid_u25_cystatin_c",
    "egfr_schwartz_1976",
    "egfr_validity_warnings",
]

# [Sch09] Schwartz GJ et al., JASN 2009;20:629–637: bedside ("modified") Schwartz.
SCHWARTZ_BEDSIDE_K = 0.413
# [Sch76] Schwartz GJ et al., Pediatrics 1976;58:259–263 (k = 0.55, children and girls to 18);
# Schwartz, Feld & Langford, J Pediatr 1984 (k = 0.45, term infants under 1 year);
# Schwartz & Gauthier, J Pediatr 1985 (k = 0.70, adolescent boys 13–18).
SCHWARTZ_1976_K_INFANT = 0.45
SCHWARTZ_1976_K_CHILD = 0.55
SCHWARTZ_1976_K_ADOLESCENT_BOY = 0.70
SCHWARTZ_1976_ADOLESCENCE_YEARS = 13.0
# [U25] Pierce CB et al., Kidney Int 2021;99:948–956 (CKiD U25), coefficients as in the CKiD
# reference code: K = base × growth^(age − pivot) on each age band; constant from 18 years.
_Band = tuple[float, float, float]  # (upper age bound, base, growth per year)
_U25_CREATININE: dict[str, tuple[_Band, _Band, float]] = {
    "M": ((12.0, 39.0, 1.008), (18.0, 39.0, 1.045), 50.8),
    "F": ((12.0, 36.1, 1.008), (18.0, 36.1, 1.023), 41.4),
}
_U25_CYSTATIN_C: dict[str, tuple[_Band, _Band, float]] = {
    "M": ((15.0, 87.2, 1.011), (18.0, 87.2, 0.960), 77.1),
    "F": ((12.0, 79.9, 1.004), (18.0, 79.9, 0.974), 68.3),
}


@dataclass(frozen=True)
class Equation:
    """An eGFR equation: its function, name, source, and validated age range in years."""

    name: str
    title: str
    source: str
    valid_age_years: tuple[float, float]
    function: Callable[..., Num]
    caveat: str = ""


@missing_in_missing_out
def egfr_bedside_schwartz(*, height_cm: Num, creatinine_umol_l: Num) -> Num:
    """eGFR by the bedside (modified) Schwartz equation, 0.413 × height_cm / SCr_mg_dL.

    [Sch09]; the source article's equation. Valid for ages 1–18 with IDMS-traceable creatinine.
    """
    creatinine_mg_dl = creatinine_umol_l / CREATININE_UMOL_L_PER_MG_DL
    return SCHWARTZ_BEDSIDE_K * height_cm / creatinine_mg_dl


@missing_in_missing_out
def egfr_schwartz_1976(*, height_cm: Num, creatinine_umol_l: Num, age_years: Num, sex: Num) -> Num:
    """eGFR by the original Schwartz equation, k × height_cm / SCr_mg_dL (Jaffe creatinine).

    [Sch76]: k = 0.45 under 1 year, 0.70 for boys from 13, else 0.55. With IDMS-traceable
    creatinine it overestimates GFR by 20–40%.
    """
    k = piecewise(
        [
            (age_years < 1.0, SCHWARTZ_1976_K_INFANT),
            (
                (sex == "M") & (age_years >= SCHWARTZ_1976_ADOLESCENCE_YEARS),
                SCHWARTZ_1976_K_ADOLESCENT_BOY,
            ),
        ],
        SCHWARTZ_1976_K_CHILD,
    )
    return k * height_cm / (creatinine_umol_l / CREATININE_UMOL_L_PER_MG_DL)


def _u25_k(table: dict[str, tuple[_Band, _Band, float]], age: Num, sex: Num) -> Num:
    """CKiD U25's K by sex and age: the one branch of these equations."""
    branches = []
    for sex_code in ("M", "F"):
        (pivot, base, growth), (upper, base2, growth2), adult = table[sex_code]
        branches += [
            ((sex == sex_code) & (age < pivot), base * growth ** (age - pivot)),
            ((sex == sex_code) & (age < upper), base2 * growth2 ** (age - pivot)),
            (sex == sex_code, adult),
        ]
    return piecewise(branches, float("nan"))


@missing_in_missing_out
def egfr_ckid_u25_creatinine(
    *, height_cm: Num, creatinine_umol_l: Num, age_years: Num, sex: Num
) -> Num:
    """eGFR by CKiD U25 (creatinine), K × height_m / SCr_mg_dL [U25]. Valid for ages 1–25."""
    k = _u25_k(_U25_CREATININE, age_years, sex)
    return k * (height_cm / CM_PER_M) / (creatinine_umol_l / CREATININE_UMOL_L_PER_MG_DL)


@missing_in_missing_out
def egfr_ckid_u25_cystatin_c(*, cystatin_c_mg_l: Num, age_years: Num, sex: Num) -> Num:
    """eGFR by CKiD U25 (cystatin C, IFCC-calibrated), K / CysC_mg_L [U25]. Ages 1–25."""
    return _u25_k(_U25_CYSTATIN_C, age_years, sex) / cystatin_c_mg_l


@missing_in_missing_out
def egfr_ckid_u25_combined(
    *, height_cm: Num, creatinine_umol_l: Num, cystatin_c_mg_l: Num, age_years: Num, sex: Num
) -> Num:
    """eGFR by CKiD U25, the mean of the creatinine and cystatin C estimates [U25]."""
    by_creatinine = egfr_ckid_u25_creatinine(
        height_cm=height_cm, creatinine_umol_l=creatinine_umol_l, age_years=age_years, sex=sex
    )
    by_cystatin = egfr_ckid_u25_cystatin_c(
        cystatin_c_mg_l=cystatin_c_mg_l, age_years=age_years, sex=sex
    )
    return (by_creatinine + by_cystatin) / 2.0


EGFR_EQUATIONS = {
    e.name: e
    for e in (
        Equation(
            "bedside-schwartz",
            "bedside (modified) Schwartz",
            "Schwartz et al., JASN 2009;20:629–637",
            (1.0, 18.0),
            egfr_bedside_schwartz,
        ),
        Equation(
            "schwartz-1976",
            "Schwartz 1976 (original)",
            "Schwartz et al., Pediatrics 1976;58:259–263",
            (0.0, 18.0),
            egfr_schwartz_1976,
            "made for Jaffe creatinine: with IDMS-traceable (enzymatic) creatinine it "
            "overestimates GFR by 20–40%",
        ),
        Equation(
            "ckid-u25",
            "CKiD U25",
            "Pierce et al., Kidney Int 2021;99:948–956",
            (1.0, 25.0),
            egfr_ckid_u25_creatinine,
        ),
    )
}


def egfr_validity_warnings(equation: str, age_years: float | None) -> list[str]:
    """Plain-language caveats for one eGFR: age outside the validated range, known bias."""
    chosen = EGFR_EQUATIONS[equation]
    warnings = []
    low, high = chosen.valid_age_years
    if age_years is not None and not low <= age_years < high:
        warnings.append(
            f"the {chosen.title} equation was validated for ages {low:g} to {high:g} years; "
            f"at {age_years:g} years the estimate is less reliable"
        )
    if chosen.caveat:
        warnings.append(f"{chosen.title}: {chosen.caveat}")
    return warnings
