"""Body surface area in m² from height (cm) and weight (kg) (clinical.md §7)."""

from __future__ import annotations

from srnskit.clinical.numeric import Num, missing_in_missing_out

__all__ = ["BSA_FORMULAS", "bsa_dubois", "bsa_gehan_george", "bsa_haycock", "bsa_mosteller"]


@missing_in_missing_out
def bsa_mosteller(*, height_cm: Num, weight_kg: Num) -> Num:
    """BSA in m², √(height_cm × weight_kg / 3600).

    Mosteller RD, N Engl J Med 1987;317:1098. srnskit's default.
    """
    return (height_cm * weight_kg / 3600.0) ** 0.5


@missing_in_missing_out
def bsa_haycock(*, height_cm: Num, weight_kg: Num) -> Num:
    """BSA in m², 0.024265 × height_cm^0.3964 × weight_kg^0.5378.

    Haycock GB, Schwartz GJ, Wisotsky DH, J Pediatr 1978;93:62–66.
    """
    return 0.024265 * height_cm**0.3964 * weight_kg**0.5378


@missing_in_missing_out
def bsa_dubois(*, height_cm: Num, weight_kg: Num) -> Num:
    """BSA in m², 0.007184 × height_cm^0.725 × weight_kg^0.425.

    Du Bois D, Du Bois EF, Arch Intern Med 1916;17:863–871.
    """
    return 0.007184 * height_cm**0.725 * weight_kg**0.425


@missing_in_missing_out
def bsa_gehan_george(*, height_cm: Num, weight_kg: Num) -> Num:
    """BSA in m², 0.0235 × height_cm^0.42246 × weight_kg^0.51456.

    Gehan EA, George SL, Cancer Chemother Rep 1970;54:225–235.
    """
    return 0.0235 * height_cm**0.42246 * weight_kg**0.51456


BSA_FORMULAS = {
    "mosteller": bsa_mosteller,
    "haycock": bsa_haycock,
    "dubois": bsa_dubois,
    "gehan-george": bsa_gehan_george,
}
