"""A validated cohort as typed DuckDB tables in canonical units (cohort-format.md §2).

Units: creatinine umol/L, albumin g/L, height cm, weight kg, cystatin C mg/L, trough ng/mL;
UPCR stays in its unit family (mg/mg or mg/mmol) and 24-hour protein in g/24h, mg/m2/h or
mg/kg/24h, because the engine compares each with thresholds of its own family.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import numpy as np
import pyarrow as pa

from srnskit.cohort.forms import DateOrder
from srnskit.cohort.parse import (
    UNITS_TABLE,
    bool_sql,
    connect,
    date_sql,
    enum_sql,
    measurement_value_sql,
    number_sql,
    qualifier_sql,
    quote,
    raw_cells,
    unit_key_sql,
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
    "canonical_value",
    "check_cohort",
    "cohort_from_raw",
    "export_canonical",
    "import_canonical",
    "read_cohort",
    "significant",
    "significant_sql",
]

DEFAULT_CENTER = "default"

# Significant digits of a measurement's value once read in canonical units (read_cohort) and of
# every number an import or export writes (cohort/imported.py). A conversion to canonical units
# is one multiplication by the schema's factor (srnskit.schema.analytes), which leaves an error
# of an ulp or two (about 1e-16 of the value: 0.56 × 88.4 is 49.504000000000005); 12 digits drop
# that noise with four digits to spare, and keep every digit a measurement carries (laboratories
# report 2 to 6). A value is changed by at most 5e-13 of itself. By hand, bedside Schwartz with
# 0.56 mg/dL and 110 cm is 0.413 × 110 / 0.56 = 81.125 exactly (81.13 at two decimals); with
# the unrounded 49.504000000000005 µmol/L it comes out 81.12499999999999 (81.12).
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
    center = (raw.center_id or DEFAULT_CENTER).replace("'", "''")
    for name, table in COHORT_TABLES.items():
        if name not in raw.tables:
            columns = ", ".join(f"{quote(c.name)} {CANONICAL_TYPES[c.kind]}" for c in table.columns)
            extra = ", source_row BIGINT" if name == "measurements" else ""
            con.execute(f"CREATE TABLE {name} ({columns}{extra})")
            continue
        # Unknown columns pass through, except those named like a direct identifier: they are
        # never loaded, so no output can write them (cohort-format.md §1).
        extras = [
            f"r.{quote(c)}"
            for c in raw.tables[name].columns
            if c not in table.column_names and not looks_like_identifier(c)
        ]
        if name == "measurements":
            select = _measurements_select()
        else:
            select = [_typed(c, f"r.{quote(c.name)}") for c in table.columns]
        if name == "patients":
            select[1] = f"COALESCE(r.center_id, '{center}') AS center_id"
        if name == "treatments":
            schedule = table.column("schedule")
            select[-1] = f"COALESCE({enum_sql('r.schedule', schedule)}, 'daily') AS schedule"
        joins = (
            f" LEFT JOIN {UNITS_TABLE} u ON u.analyte = {_analyte()} "
            f"AND u.unit_key = {unit_key_sql('r.unit')}"
            if name == "measurements"
            else ""
        )
        query = f"SELECT {', '.join(select + extras)} FROM raw_{name} r{joins}"
        span = f"SELECT min({ROW_COLUMN}), max({ROW_COLUMN}) FROM raw_{name}"
        first, last = con.execute(span).fetchone() or (None, None)
        if first is None:
            con.execute(f"CREATE TABLE {name} AS {query}")
            continue
        # In chunks of rows, each compressed once in: the typed copy never sits whole in memory
        # uncompressed beside the text it comes from.
        for start in range(first, last + 1, CHUNK_ROWS):
            rows = f"WHERE r.{ROW_COLUMN} BETWEEN {start} AND {start + CHUNK_ROWS - 1}"
            verb = f"CREATE TABLE {name} AS" if start == first else f"INSERT INTO {name}"
            con.execute(f"{verb} {query} {rows} ORDER BY r.{ROW_COLUMN}")
            con.execute("CHECKPOINT")


def _typed(column: Column, cell: str) -> str:
    expression = {
        "text": cell,
        "enum": enum_sql(cell, column),
        "date": date_sql(cell),
        "number": number_sql(cell),
        "integer": f"CAST({number_sql(cell)} AS INTEGER)",
        "bool": bool_sql(cell),
    }[column.kind]
    return f"{expression} AS {quote(column.name)}"


def _analyte() -> str:
    return enum_sql("r.analyte", COHORT_TABLES["measurements"].column("analyte"))


def _measurements_select() -> list[str]:
    value = measurement_value_sql(_analyte(), "r.value")
    qualifier = COHORT_TABLES["measurements"].column("qualifier")
    return [
        "r.patient_id AS patient_id",
        f"{date_sql('r.date')} AS date",
        f"{_analyte()} AS analyte",
        f"{significant_sql(f'({value}) * COALESCE(u.factor, 1.0)', SIGNIFICANT_DIGITS)} AS value",
        "u.canonical AS unit",
        f"{qualifier_sql('r.value', 'r.qualifier', qualifier)} AS qualifier",
        f"r.{ROW_COLUMN} AS source_row",
    ]


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
    NaN, infinities) and 0 are kept as they are. ``significant_sql`` is the same rounding in
    DuckDB. Raises ``ValueError`` for ``digits`` outside 1 … 15 (a double holds 15 decimal
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


def significant_sql(number: str, digits: int) -> str:
    """A DuckDB expression: the DOUBLE expression ``number`` rounded to ``digits`` significant
    digits exactly as ``significant`` rounds it (a half away from zero, through the same exact
    powers of ten), so a cohort read (``read_cohort``) and a file written (``written_numbers``) hold
    the same double: 0.56 mg/dL is 49.504 µmol/L either way. NULL, 0, NaN, the infinities and
    a value the rounding cannot reach (see ``significant``) are kept. Raises ``ValueError`` for
    ``digits`` outside 1 … 15."""
    if not 1 <= digits <= 15:
        raise ValueError(f"digits must be 1 … 15, not {digits}")
    x = f"({number})"
    decimals = f"({digits - 1} - CAST(floor(log10(abs({x}))) AS BIGINT))"
    scale = f"pow(10, abs({decimals}))"
    return (
        f"CASE WHEN {x} = 0 OR NOT isfinite({x}) THEN {x} "
        f"WHEN abs({decimals}) >= {len(_POWERS_OF_TEN)} THEN {x} "
        f"WHEN {decimals} >= 0 THEN round({x} * {scale}) / {scale} "
        f"ELSE round({x} / {scale}) * {scale} END"
    )
