"""The one rounding of a cohort's numbers: a measurement's value in canonical units to
``SIGNIFICANT_DIGITS`` significant digits, in Python (``significant``, ``canonical_value``)
and as an Ibis expression every engine compiles (``significant_value``), so DuckDB and Spark
load the same doubles."""

from __future__ import annotations

import sys

import ibis
import numpy as np
import pyarrow as pa

__all__ = [
    "SIGNIFICANT_DIGITS",
    "canonical_value",
    "decimal_scale",
    "rounded_to",
    "significant",
    "significant_decimals",
    "significant_value",
]

# Significant digits of a measurement's value once read in canonical units (read_cohort): the
# one rounding, so an import and the exports write the loaded numbers as they are (a dose, the
# only other float column, is read from its text and carries no conversion). A conversion to
# canonical units is one multiplication by the schema's factor (srnskit.schema.analytes), which
# leaves an error of an ulp or two (about 1e-16 of the value: 0.56 × 88.4 is 49.504000000000005);
# 12 digits drop that noise with four digits to spare, and keep every digit a measurement
# carries (laboratories report 2 to 6). A value is changed by at most 5e-13 of itself. By hand,
# bedside Schwartz with 0.56 mg/dL and 110 cm is 0.413 × 110 / 0.56 = 81.125 exactly (81.13 at
# two decimals); with the unrounded 49.504000000000005 µmol/L it is 81.12499999999999 (81.12).
SIGNIFICANT_DIGITS = 12
# Powers of ten as doubles read from text: each exact (10**22 is the largest exact one).
_POWERS_OF_TEN = np.array([float(f"1e{k}") for k in range(23)])


def canonical_value(value: float, factor: float) -> float:
    """``value`` in an accepted unit converted with its ``factor`` (``srnskit.schema``'s
    ``Unit.factor``) to the canonical unit, to ``SIGNIFICANT_DIGITS`` significant digits: the
    number ``read_cohort`` holds for that cell (``canonical_value(0.56, 88.4)`` is 49.504
    µmol/L, not 49.504000000000005). For one number given on the command line (``calc``)."""
    rounded = significant(pa.array([value * factor], pa.float64()), SIGNIFICANT_DIGITS)
    return float(rounded[0].as_py())


def significant(values: pa.Array, digits: int) -> pa.Array:
    """``values`` (float64, nulls kept) each rounded to ``digits`` significant digits (a value
    half-way between two away from zero, as C's ``round`` and DuckDB's ``round`` do), as the
    double nearest that decimal, which Python's shortest ``repr`` writes back:
    ``significant([49.504000000000005], 12)`` is ``[49.504]``. A value the rounding cannot
    reach exactly in a double (more than 22 decimals to keep: below about 1e-11 at 12 digits;
    NaN, infinities) and 0 are kept as they are. ``significant_value`` is the same rounding
    on an engine. Raises ``ValueError`` for ``digits`` outside 1 … 15 (a double holds 15 decimal
    digits exactly)."""
    if not 1 <= digits <= 15:
        raise ValueError(f"digits must be 1 … 15, not {digits}")
    numbers = values.to_numpy(zero_copy_only=False).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(numbers)))
    decimals = digits - 1 - magnitude  # -inf/nan for 0 and nan, large for tiny values
    reachable = np.isfinite(decimals) & (np.abs(decimals) < len(_POWERS_OF_TEN))
    exponent = np.where(reachable, decimals, 0).astype(np.int64)
    scale = _POWERS_OF_TEN[np.abs(exponent)]
    # x × 10^k is below 10^digits (an integer a double holds exactly once rounded), and an
    # exact integer divided by an exact power of ten is the double nearest the decimal.
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = np.where(
            exponent >= 0, _half_away(numbers * scale) / scale, _half_away(numbers / scale) * scale
        )
    result = np.where(reachable, rounded, numbers)
    return pa.array(result, type=values.type, mask=values.is_null().to_numpy(zero_copy_only=False))


def _half_away(numbers: np.ndarray) -> np.ndarray:
    # C's round(): the nearest integer, a half away from zero (y − trunc(y) is exact).
    whole = np.trunc(numbers)
    nearest: np.ndarray = whole + np.where(np.abs(numbers - whole) >= 0.5, np.sign(numbers), 0.0)
    return nearest


def significant_value(number: ibis.FloatingValue, digits: int) -> ibis.FloatingValue:
    """The float64 expression ``number`` rounded to ``digits`` significant digits exactly as
    ``significant`` rounds it (a half away from zero, through the same exact powers of ten),
    as an Ibis expression every engine compiles: DuckDB's ``round`` and Spark's (HALF_UP on a
    double) both take a half away from zero, and both read ``log10`` of a power of ten and
    ``pow(10, k)`` for k ≤ 22 exactly. So a cohort loaded by either holds the double
    ``significant`` gives: 0.56 mg/dL is 49.504 µmol/L. NULL, 0, NaN, the infinities and a
    value the rounding cannot reach (see ``significant``) are kept. Raises ``ValueError`` for
    ``digits`` outside 1 … 15."""
    decimals = significant_decimals(number, digits)
    return rounded_to(number, decimals, decimal_scale(decimals))


def significant_decimals(number: ibis.FloatingValue, digits: int) -> ibis.IntegerValue:
    """The decimals ``significant_value`` keeps of ``number`` (negative: tens, hundreds …),
    NULL for a number kept as it is (0, NaN, the infinities); an engine computes it once as a
    column of its own, not in each branch that names it. Raises ``ValueError`` for
    ``digits`` outside 1 … 15."""
    if not 1 <= digits <= 15:
        raise ValueError(f"digits must be 1 … 15, not {digits}")
    # Infinite: beyond the largest double (Ibis writes isinf for Spark as FALSE; the
    # comparison also holds for NaN, which both engines order above every number).
    kept = (number == 0) | (number.abs() > ibis.literal(sys.float_info.max)) | number.isnan()
    return ibis.ifelse(kept, ibis.null("int64"), (digits - 1) - number.abs().log10().floor())


def decimal_scale(decimals: ibis.IntegerValue) -> ibis.FloatingValue:
    """10 to the power of ``|decimals|`` (``significant_decimals``), read from the exact
    powers of ten up to 10^22 (a larger ``|decimals|``, and NULL, read 10^22: ``rounded_to``
    keeps such a number as it is): the doubles ``pow(10, k)`` gives, without ``pow``, which
    takes DuckDB about 2 s of its 2 cores on 64 M rows. An engine computes it once, as a
    column of its own (inlined, the list is built again for every row)."""
    powers = ibis.literal(_POWERS_OF_TEN.tolist(), "array<float64>")
    # LEAST passes over NULL on both engines; the index stays in the list, which Spark's ANSI
    # mode requires of every row, also of a row whose branch does not read it, and is an INT
    # (Spark's element_at takes no BIGINT).
    return powers[ibis.least(decimals.abs(), len(_POWERS_OF_TEN) - 1).cast("int32")]


def rounded_to(
    number: ibis.FloatingValue, decimals: ibis.IntegerValue, scale: ibis.FloatingValue
) -> ibis.FloatingValue:
    """``number`` rounded to ``decimals`` (``significant_decimals``), as
    ``significant_value`` rounds it; ``scale`` is ``decimal_scale(decimals)`` (a column of
    its own where an engine holds it so)."""
    places = decimals.abs()
    return ibis.cases(
        (decimals.isnull(), number),
        (places >= len(_POWERS_OF_TEN), number),
        (decimals >= 0, (number * scale).round(0) / scale),
        else_=(number / scale).round(0) * scale,
    )
