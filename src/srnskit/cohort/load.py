"""A validated cohort as typed DuckDB tables in canonical units (cohort-format.md §2).

Units: creatinine umol/L, albumin g/L, height cm, weight kg, cystatin C mg/L, trough ng/mL;
UPCR stays in its unit family (mg/mg or mg/mmol) and 24-hour protein in g/24h, mg/m2/h or
mg/kg/24h, because the engine compares each with thresholds of its own family.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import numpy as np
import pyarrow as pa

from srnskit.cohort.expressions import Checks, DuckDBChecks, raw_table, to_sql
from srnskit.cohort.forms import DateOrder
from srnskit.cohort.parse import (
    bool_value,
    connect,
    date_value,
    enum_value,
    measurement_value,
    number_value,
    qualifier_value,
    quote,
    raw_cells,
    unit_key_value,
    units_table,
)
from srnskit.cohort.validate import validate_raw_cohort
from srnskit.errors import InvalidCohortError
from srnskit.schema import COHORT_TABLES, Column
from srnskit.schema.problems import Problem
from srnskit.schema.tables import looks_like_identifier
from srnskit.sources.files import CHUNK_ROWS, ROW_COLUMN, RawCohort, read_raw_cohort
from srnskit.sources.registry import is_database_url, read_registry

__all__ = [
    "CANONICAL_TYPES",
    "DEFAULT_CENTER",
    "SIGNIFICANT_DIGITS",
    "Cohort",
    "canonical_table",
    "canonical_value",
    "check_cohort",
    "cohort_from_raw",
    "export_canonical",
    "import_canonical",
    "read_cohort",
    "significant",
    "significant_value",
]

DEFAULT_CENTER = "default"

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

# The SQL type each column kind loads as.
CANONICAL_TYPES = {
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "date": "DATE",
    "number": "DOUBLE",
    "integer": "INTEGER",
    "bool": "BOOLEAN",
    "value": "DOUBLE",
}


@dataclass
class Cohort:
    """A validated cohort: canonical tables in an in-process DuckDB database, and its warnings.

    Callers read tables (``table``, ``to_arrow``); an engine backend is handed where they lie
    (``location``). ``close`` (or the end of a ``with`` block) frees the database and any
    Parquet copy ``location`` wrote.
    """

    path: Path
    name: str
    con: duckdb.DuckDBPyConnection
    warnings: list[Problem] = field(default_factory=list)
    _ibis: ibis.BaseBackend | None = field(default=None, init=False, repr=False)
    _parquet: Path | None = field(default=None, init=False, repr=False)
    _cleanup: weakref.finalize[Any, Any] | None = field(default=None, init=False, repr=False)

    def table(self, name: str) -> ibis.Table:
        """One canonical table (``patients``, ``measurements``, …) as an Ibis table on the
        cohort's database. Raises ``KeyError`` for a name not in ``COHORT_TABLES``."""
        if name not in COHORT_TABLES:
            raise KeyError(name)
        if self._ibis is None:
            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis.table(name)

    def to_arrow(self, name: str) -> pa.Table:
        """One canonical table as Arrow. Raises ``KeyError`` for an unknown name."""
        if name not in COHORT_TABLES:
            raise KeyError(name)
        return self.con.table(name).to_arrow_table()

    def location(self) -> dict[str, str]:
        """Where each canonical table lies as Parquet: table name → file path.

        The in-process tables are written once, on the first call (DuckDB's ``COPY``), to a
        temporary folder removed by ``close`` (or when the cohort is garbage-collected, or at
        exit). An engine that reads files itself (Spark) reads them there, not through Python.
        """
        if self._parquet is None:
            folder = Path(tempfile.mkdtemp(prefix="srnskit-cohort-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            export_canonical(self, folder)
            self._parquet = folder
        return {name: str(self._parquet / f"{name}.parquet") for name in COHORT_TABLES}

    def close(self) -> None:
        """Close the database and remove the Parquet copy, if any (idempotent)."""
        if self._cleanup is not None:
            self._cleanup()
        self._parquet = None
        self.con.close()

    def __enter__(self) -> Cohort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def export_canonical(cohort: Cohort, folder: Path) -> None:
    """Write the cohort's loaded (validated, canonical) tables to ``folder`` as Parquet."""
    for name in COHORT_TABLES:
        target = str(folder / f"{name}.parquet").replace("'", "''")
        cohort.con.execute(f"COPY {name} TO '{target}' (FORMAT parquet)")


def import_canonical(folder: Path, *, path: Path, name: str) -> Cohort:
    """A cohort from tables that ``export_canonical`` wrote: already validated, so not again."""
    con = connect()
    for table in COHORT_TABLES:
        source = str(folder / f"{table}.parquet").replace("'", "''")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{source}')")
    return Cohort(path=path, name=name, con=con)


def check_cohort(
    path: Path, *, today: dt.date, date_order: DateOrder | None = None
) -> list[Problem]:
    """Every problem of the cohort at ``path`` (errors and warnings), without loading it.
    ``date_order`` as for ``read_cohort``."""
    return validate_raw_cohort(read_raw_cohort(path), today=today, date_order=date_order)


def read_cohort(path: Path | str, *, today: dt.date, date_order: DateOrder | None = None) -> Cohort:
    """Read, validate and load the cohort at ``path``: a folder, workbook or DuckDB file, or a
    registry's database URL (``sqlite:///…``, ``postgresql+psycopg://…``, read by
    ``sources.registry``).

    ``date_order`` (``"dmy"`` or ``"mdy"``, the command line's ``--date-order``) reads text
    dates with the year last (``18/01/2014``) in that order, each column's a warning; without
    it they are errors. Raises ``InvalidCohortError`` (with every problem) when validation
    finds an error, and ``UsageError`` when ``path`` is not a cohort at all.
    """
    if is_database_url(path):
        return cohort_from_raw(read_registry(str(path)), today=today, date_order=date_order)
    return cohort_from_raw(read_raw_cohort(Path(path)), today=today, date_order=date_order)


def cohort_from_raw(
    raw: RawCohort, *, today: dt.date, date_order: DateOrder | None = None
) -> Cohort:
    """Validate and load a cohort already read (``read_cohort`` after reading); its name is
    ``raw.name``, else the stem of ``raw.path``. Raises ``InvalidCohortError`` as
    ``read_cohort`` does."""
    path = raw.path
    con = connect()
    problems = validate_raw_cohort(raw, today=today, con=con, date_order=date_order)
    if any(p.severity == "error" for p in problems):
        con.close()
        raise InvalidCohortError(problems)
    _load_canonical(con, raw)
    # The raw text tables served validation and loading only: free their memory now.
    for table in raw.tables:
        con.execute(f"DROP VIEW IF EXISTS raw_{table}")
        con.execute(f"DROP TABLE IF EXISTS {raw_cells(table)}")
    name = raw.name or (path.stem if path.is_file() else path.name)
    return Cohort(path=path, name=name, con=con, warnings=problems)


def _load_canonical(con: duckdb.DuckDBPyConnection, raw: RawCohort) -> None:
    checks = DuckDBChecks(con)
    for name, table in COHORT_TABLES.items():
        if name not in raw.tables:
            typed = ", ".join(f"{quote(c.name)} {CANONICAL_TYPES[c.kind]}" for c in table.columns)
            extra = ", source_row BIGINT" if name == "measurements" else ""
            con.execute(f"CREATE TABLE {name} ({typed}{extra})")
            continue
        columns = raw.tables[name].columns
        source = raw_table(checks, name)
        span = source.aggregate(first=source[ROW_COLUMN].min(), last=source[ROW_COLUMN].max())
        ((first, last),) = (tuple(row.values()) for row in checks.rows(span))
        typed = _typed_table(source, name, columns, raw.center_id, numbered=True)
        # Compiled once (a tenth of a second for measurements) as a view the chunks read: a
        # chunk's filter on the raw row reaches the raw table's scan through it.
        view = f"_srnskit_canonical_{name}"
        con.execute(f"CREATE OR REPLACE VIEW {view} AS {to_sql(typed)}")
        numbered = ibis.table(typed.schema(), name=view)
        # In chunks of rows, each compressed once in: the typed copy never sits whole in memory
        # uncompressed beside the text it comes from.
        starts = [] if first is None else range(first, last + 1, CHUNK_ROWS)
        chunks = [numbered.filter(numbered[_ORDER].between(s, s + CHUNK_ROWS - 1)) for s in starts]
        for index, rows in enumerate(chunks or [numbered]):
            query = to_sql(rows.order_by(_ORDER).drop(_ORDER))
            verb = f"CREATE TABLE {name} AS" if index == 0 else f"INSERT INTO {name}"
            con.execute(f"{verb} {query}")
            con.execute("CHECKPOINT")
        con.execute(f"DROP VIEW {view}")


def canonical_table(
    checks: Checks,
    name: str,
    raw_columns: Sequence[str],
    center_id: str | None,
) -> ibis.Table:
    """The canonical table ``name`` (a key of ``COHORT_TABLES``) typed from the raw table of
    ``checks`` (``expressions.raw_table``: ``_row`` and text cells) as one Ibis expression,
    which any engine compiles: DuckDB here (``_load_canonical``), Spark to write the canonical
    Parquet where the data lie. Validation must have passed on the same raw table: a cell it
    would refuse is read as NULL, never an error.

    Shape: the table's columns in ``COHORT_TABLES`` order, each of its kind's type (text and
    enum string, date date, number and value float64, integer int32, bool boolean; an enum
    cell in its canonical spelling, ``parse.enum_value``), then, for measurements,
    ``source_row`` (int64, the raw row), then the columns of ``raw_columns`` (the file's
    header) that the format does not declare, as text, except those named like a direct
    identifier (``schema.tables.looks_like_identifier``), which are never loaded
    (cohort-format.md §1). Units: a measurement's value is read by ``parse.measurement_value``
    (dipstick words as levels, a bound's number with its sign in ``qualifier``), multiplied by
    its unit's factor to the canonical unit (``parse.units_table``, from
    ``schema.analytes``: a unit spelling joined on analyte and folded unit, as a LEFT JOIN;
    ``unit`` is the canonical unit) and rounded to ``SIGNIFICANT_DIGITS`` significant digits
    (``significant_value``). A patient without a centre gets ``center_id`` (cohort.toml's),
    else ``DEFAULT_CENTER``; a course without a schedule is ``daily`` (cohort-format.md §2).

    The rows come in no set order (``source_row`` gives a measurement's). Raises ``KeyError``
    for a name not in ``COHORT_TABLES``.
    """
    return _typed_table(raw_table(checks, name), name, raw_columns, center_id, numbered=False)


def _typed_table(
    raw: ibis.Table,
    name: str,
    raw_columns: Sequence[str],
    center_id: str | None,
    *,
    numbered: bool,
) -> ibis.Table:
    """``canonical_table`` over the raw table ``raw``; ``numbered`` adds the raw row as the
    last column, ``_ORDER`` (the chunked load orders by it, then drops it)."""
    table = COHORT_TABLES[name]
    values: dict[str, ibis.Value] = {c.name: _typed(c, raw[c.name]) for c in table.columns}
    if name == "patients":
        values["center_id"] = raw.center_id.fill_null(center_id or DEFAULT_CENTER)
    if name == "treatments":
        values["schedule"] = enum_value(raw.schedule, table.column("schedule")).fill_null("daily")
    source: ibis.Table = raw
    if name == "measurements":
        units = units_table()
        analyte = values["analyte"]
        source = raw.left_join(
            units, [units.analyte == analyte, units.unit_key == unit_key_value(raw.unit)]
        )
        # In canonical units here, rounded a step later, where the product is one column: the
        # rounding names its number six times, each a copy of the product's SQL if inlined.
        values["value"] = measurement_value(analyte, raw.value) * units.factor.fill_null(1.0)
        values["unit"] = units.canonical
        qualifier = table.column("qualifier")
        values["qualifier"] = qualifier_value(raw.value, raw.qualifier, qualifier)
        values["source_row"] = raw[ROW_COLUMN]
    extras = [
        c for c in raw_columns if c not in table.column_names and not looks_like_identifier(c)
    ]
    values.update({c: raw[c] for c in extras if c not in values})
    if numbered:
        values[_ORDER] = raw[ROW_COLUMN]
    typed = source.select(**values)
    if name == "measurements":
        typed = typed.mutate(value=significant_value(typed.value, SIGNIFICANT_DIGITS))
    return typed


# The raw row a chunk is ordered by, dropped after ordering (no raw column is named so: a
# helper's name as validation's are).
_ORDER = "__srnskit_row"


def _typed(column: Column, cell: ibis.Value) -> ibis.Value:
    """The cell of ``column`` read as its kind (``measurements.value`` is read apart)."""
    text = cell.cast("string")
    if column.kind == "enum":
        return enum_value(text, column)
    if column.kind == "date":
        return date_value(text)
    if column.kind in ("number", "value"):
        return number_value(text)
    if column.kind == "integer":
        # Validation let only whole numbers through (the format's integers).
        return number_value(text).cast("int32")
    if column.kind == "bool":
        return bool_value(text)
    return cell


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
    if not 1 <= digits <= 15:
        raise ValueError(f"digits must be 1 … 15, not {digits}")
    # Infinite: beyond the largest double (Ibis writes isinf for Spark as FALSE; the
    # comparison also holds for NaN, which both engines order above every number).
    kept = (number == 0) | (number.abs() > ibis.literal(sys.float_info.max)) | number.isnan()
    decimals = (digits - 1) - number.abs().log10().floor()
    places = decimals.abs()
    scale = ibis.literal(10.0, "float64") ** places
    return ibis.cases(
        (kept, number),
        (places >= len(_POWERS_OF_TEN), number),
        (decimals >= 0, (number * scale).round(0) / scale),
        else_=(number / scale).round(0) * scale,
    )
