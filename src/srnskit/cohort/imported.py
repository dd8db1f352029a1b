"""The end of every interchange import (REDCap, FHIR, OMOP; issue 20): validate the rows an
importer mapped, then write the canonical cohort folder all or nothing.

The rows go through the same validation as ``srnskit validate`` (``cohort_from_raw``); an
error anywhere raises ``InvalidCohortError`` with every problem pointing at its origin in the
source (``SourceRows.locate``) and nothing is written (exit 1, cohort-format.md §4). A valid
import is written as the loaded cohort, in the format's columns and canonical units, with
``cohort.toml`` and ``import/skipped.csv`` (the records not mapped, with the reason; a
sub-folder, which every cohort reader ignores). Every number is written to
``SIGNIFICANT_DIGITS`` significant digits, so a value converted to canonical units reads as a
person would write it (0.56 mg/dL creatinine is written 49.504 µmol/L, not the binary
49.504000000000005).

    result = write_imported(rows, out, today=date, force=False)
    result.counts    {"patients": 26, "measurements": 21488, …}
    result.skipped   [Skipped(origin, reason), …]
    result.warnings  validation's warnings, located
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from srnskit.cohort.load import cohort_from_raw
from srnskit.errors import InvalidCohortError
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.interchange import Skipped, SourceRows, skipped_csv
from srnskit.writer import OutputFormat, cohort_schema, write_cohort_folder

__all__ = [
    "SIGNIFICANT_DIGITS",
    "SKIPPED_FILE",
    "ImportResult",
    "significant",
    "write_imported",
    "written_numbers",
]

# Significant digits of every number an import writes. A conversion to canonical units is one
# multiplication by the schema's factor (srnskit.schema.analytes), which leaves an error of an
# ulp or two (about 1e-16 of the value: 0.56 × 88.4 is 49.504000000000005); 12 digits drop that
# noise with four digits to spare, and keep every digit a measurement carries (laboratories
# report 2 to 6). A value is changed by at most 5e-13 of itself.
SIGNIFICANT_DIGITS = 12
# Powers of ten as doubles read from text: each exact (10**22 is the largest exact one).
_POWERS_OF_TEN = np.array([float(f"1e{k}") for k in range(23)])
# Where an import lists the source records it did not map (a sub-folder: readers ignore it).
SKIPPED_FILE = "import/skipped.csv"


@dataclass
class ImportResult:
    """What an import wrote: rows per table, the records skipped, validation's warnings."""

    out: Path
    counts: dict[str, int]
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def write_imported(
    rows: SourceRows,
    out: Path,
    *,
    today: dt.date,
    force: bool = False,
    fmt: OutputFormat = "csv",
) -> ImportResult:
    """Validate ``rows`` and write them to the folder ``out`` as a canonical cohort.

    ``today`` is the reference date for "in the future". Raises ``InvalidCohortError`` (every
    problem, located in the source) when validation finds an error, and ``UsageError`` when
    ``out`` exists and is not empty without ``force``; in both cases nothing is written.
    """
    raw = rows.raw_cohort(out)
    raw.name = rows.name or out.name
    try:
        cohort = cohort_from_raw(raw, today=today)
    except InvalidCohortError as exc:
        raise InvalidCohortError(rows.locate(exc.problems)) from None
    with cohort:
        tables = {}
        for name in COHORT_TABLES:
            schema = cohort_schema(name)  # the format's columns only (no load bookkeeping)
            table = cohort.to_arrow(name).select(schema.names).cast(schema)
            tables[name] = written_numbers(table)
        write_cohort_folder(
            tables,
            out,
            fmt=fmt,
            force=force,
            name=raw.name,
            files={SKIPPED_FILE: skipped_csv(rows.skipped)},
        )
        return ImportResult(
            out=out,
            counts={name: table.num_rows for name, table in tables.items()},
            skipped=list(rows.skipped),
            warnings=rows.locate(cohort.warnings),
        )


def written_numbers(table: pa.Table) -> pa.Table:
    """``table`` (any Arrow table) with each floating-point column rounded to
    ``SIGNIFICANT_DIGITS`` significant digits (``significant``): the numbers a file written
    for people holds (an import's canonical CSVs, an export to REDCap or FHIR), without the
    binary noise of a unit conversion. Other columns are unchanged."""
    for index, column in enumerate(table.schema):
        if pa.types.is_floating(column.type):
            values = significant(table.column(index).combine_chunks(), SIGNIFICANT_DIGITS)
            table = table.set_column(index, column, values)
    return table


def significant(values: pa.Array, digits: int) -> pa.Array:
    """``values`` (float64, nulls kept) each rounded to ``digits`` significant digits (a value
    half-way between two may go either way), as the double nearest that decimal, which
    Python's shortest ``repr`` writes back: ``significant([49.504000000000005], 12)`` is
    ``[49.504]``. A value the rounding cannot reach exactly in a double (more than 22
    decimals to keep: below about 1e-11 at 12 digits; NaN, infinities) and 0 are kept as
    they are. Raises ``ValueError`` for ``digits`` outside
    1 … 15 (a double holds 15 decimal digits exactly)."""
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
            exponent >= 0, np.round(numbers * scale) / scale, np.round(numbers / scale) * scale
        )
    result = np.where(reachable, rounded, numbers)
    return pa.array(result, type=values.type, mask=values.is_null().to_numpy(zero_copy_only=False))
