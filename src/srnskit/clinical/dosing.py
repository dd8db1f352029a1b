"""Doses in mg from a dose per m² of body surface area (clinical.md §7)."""

from __future__ import annotations

from srnskit.clinical.numeric import Num, missing_in_missing_out, piecewise

__all__ = ["dose_mg_from_bsa"]


@missing_in_missing_out
def dose_mg_from_bsa(*, dose_mg_m2: Num, bsa_m2: Num, max_mg: Num = float("inf")) -> Num:
    """Dose in mg for a child: dose_mg_m2 × bsa_m2, capped at ``max_mg`` when the protocol caps."""
    dose_mg = dose_mg_m2 * bsa_m2
    return piecewise([(dose_mg > max_mg, max_mg)], dose_mg)
