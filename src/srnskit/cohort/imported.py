"""The end of every interchange import (REDCap, FHIR, OMOP; issue 20): validate the rows an
importer mapped, then write the canonical cohort folder all or nothing.

The rows go through the same validation as ``srnskit validate`` (``cohort_from_raw``); an
error anywhere raises ``InvalidCohortError`` with every problem pointing at its origin in the
source (``SourceRows.locate``) and nothing is written (exit 1, cohort-format.md §4). A valid
import is written as the loaded cohort, in the format's columns and canonical units, with
``cohort.toml`` and ``import/skipped.csv`` (the records not mapped, with the reason; a
sub-folder, which every cohort reader ignores). Every number is written as the load holds it:
a value converted to canonical units was read to ``cohort.rounding.SIGNIFICANT_DIGITS``
significant digits, so it reads as a person would write it (0.56 mg/dL creatinine is written
49.504 µmol/L, not the binary 49.504000000000005), and a dose is the number its cell wrote.

    result = write_imported(rows, out, today=date, force=False)
    result.counts    {"patients": 26, "measurements": 21488, …}
    result.skipped   [Skipped(origin, reason), …]
    result.warnings  validation's warnings, located; first, the count of patients without a
                     centre, recorded as the cohort's (``default``)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from srnskit.cohort.load import DEFAULT_CENTER, cohort_from_raw
from srnskit.errors import InvalidCohortError
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem, escaped, printable
from srnskit.sources.interchange import Skipped, SourceRows, skipped_csv
from srnskit.sources.raw import RawCohort
from srnskit.writer import OutputFormat, cohort_schema, write_cohort_folder

__all__ = [
    "SKIPPED_FILE",
    "ImportResult",
    "write_imported",
]

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
        raise InvalidCohortError(printable(rows.locate(exc.problems))) from None
    with cohort:
        tables = {}
        for name in COHORT_TABLES:
            schema = cohort_schema(name)  # the format's columns only (no load bookkeeping)
            tables[name] = cohort.to_arrow(name).select(schema.names).cast(schema)
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
            warnings=[*_no_centre(raw), *printable(rows.locate(cohort.warnings))],
        )


def _no_centre(raw: RawCohort) -> list[Problem]:
    # A patient without a centre gets the cohort's (cohort.toml's center_id, else 'default',
    # cohort-format.md §2): said once, with the count, never silently (issue 20 review).
    patients = raw.tables.get("patients")
    missing = 0
    for chunk in patients.chunks() if patients is not None else []:
        if "center_id" not in chunk.column_names:
            missing += chunk.num_rows
            continue
        centres = chunk.column("center_id")
        blank = pc.equal(pc.utf8_trim_whitespace(centres), "")
        missing += pc.sum(pc.or_kleene(centres.is_null(), blank).cast(pa.int64())).as_py() or 0
    if not missing:
        return []
    centre = raw.center_id or DEFAULT_CENTER
    have = "patient has" if missing == 1 else "patients have"
    message = (
        f"{missing} {have} no centre: recorded as centre '{escaped(centre)}'; give each patient "
        "its centre in the source to keep centres apart (the registry's access is per centre)"
    )
    return [Problem("patients", None, "center_id", message, "warning")]
